#!/bin/sh
# cdmkm loads with one region inside the memmap= reservation, shows up in
# /proc/modules and lsmod, unloads with rmmod, and the kernel says nothing
# bad about it: no warning, BUG or corruption report, no taint but O and E.
# /proc/iomem has the reservation before, during and after.
# shellcheck source=tests/kmod/lib.sh
. "$CDMFS_SRC/tests/kmod/lib.sh"

for t in insmod rmmod lsmod dmesg; do
	check "$t is in the guest ($(command -v $t))" command -v $t
done
check "cdmkm.ko was copied into the guest ($KMOD_KO)" test -f "$KMOD_KO"
echo "     reservation $KMOD_START-$KMOD_END ($KMOD_SIZE); regions=$KMOD_REGIONS"
check "the reservation is Reserved in /proc/iomem" kmod_iomem_reserved
check "nothing claims the reservation before insmod" test -z "$(kmod_iomem_claims)"
check_not "cdmkm is not loaded yet" kmod_loaded

if kmod_load; then
	modline=$(grep '^cdmkm ' /proc/modules)
	echo "     /proc/modules: $modline"
	check "/proc/modules lists cdmkm as Live" sh -c "echo '$modline' | grep -q ' Live '"
	check "cdmkm taints O and E only: out of tree, unsigned" \
		sh -c "echo '$modline' | grep -q '(OE)\$'"
	check "lsmod lists cdmkm" sh -c 'lsmod | grep -q "^cdmkm "'
	check "nobody holds cdmkm (refcount 0)" test "$(cat /sys/module/cdmkm/refcnt)" = 0

	claims=$(kmod_iomem_claims)
	check "the reservation is still Reserved in /proc/iomem" kmod_iomem_reserved
	if [ -n "$claims" ]; then
		printf '%s\n' "$claims" | sed 's/^/     iomem: /'
		check "what is claimed inside the reservation is cdm0's" \
			sh -c "! printf '%s\n' '$claims' | grep -v ': cdm0\$'"
	else
		echo "     cdmkm claims nothing in /proc/iomem"
	fi

	kmod_unload
	check "nothing claims the reservation after rmmod" test -z "$(kmod_iomem_claims)"
	check "the reservation is Reserved after rmmod" kmod_iomem_reserved
fi

echo "     cdmkm in the kernel log:"
kmod_dmesg | grep cdmkm | sed 's/^/     | /'
kmod_finish
