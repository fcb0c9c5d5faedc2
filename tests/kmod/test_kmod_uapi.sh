#!/bin/sh
# The module's user interface at its edges (tests/kmod/uapi.c): bad region
# requests, bad placements and migrations, residency with any number of
# nodes, failure injection and what the ioctls answer on a failing and a
# dead region.  The kernel's verdict at the end (kmod_finish): no WARN, BUG
# or splat in the log.
# shellcheck source=tests/kmod/lib.sh
. "$CDMFS_SRC/tests/kmod/lib.sh"

UAPI=$CDMFS_BUILD/tests/kmod/kmod-uapi
[ -x "$UAPI" ] || { echo "FAIL no $UAPI (meson builds it)"; exit 1; }
KM=$PWD/km
KM2=$PWD/km2
mkdir -p "$KM" "$KM2"

# two regions in the reservation: one fails gracefully, one dies
half=$((kmod_bytes / 2))
kmod_load regions=cdm0:$KMOD_START:$half:1,cdm1:$(printf '0x%x' $((KMOD_START + half))):$half:1
check "mount -t cdmkmfs -o region=cdm0" mount -t cdmkmfs -o region=cdm0 none "$KM"
check "mount -t cdmkmfs -o region=cdm1" mount -t cdmkmfs -o region=cdm1 none "$KM2"
"$UAPI" "$KM" cdm0 "$KMOD_START" "$half" "$KM2" cdm1
check "kmod-uapi: every case" test $? = 0
check "umount both" umount "$KM" "$KM2"
kmod_unload
kmod_finish
