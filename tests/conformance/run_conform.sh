# Differential conformance: every case of conform(.c) first on a plain
# tmpfs (the reference: a case failing there is a wrong case), then on a
# cdmfs device directory pair, as root and as an unprivileged user.
#
# Environment (set by meson): CDMFS, CONFORM = the case program, LIMITS =
# the documented FUSE limitations, DEFECTS = the cdmfs defects known and
# not fixed yet, CDMFS_DATAPATH = passthrough | daemon.
T_NAME=conformance-${CDMFS_DATAPATH:-passthrough}
. "$(dirname "$0")/lib.sh"
: "${CONFORM:?CONFORM must name the conform program}"
: "${LIMITS:?LIMITS must name the limitations file}"
: "${DEFECTS:?DEFECTS must name the known-defects file}"
DATAPATH=${CDMFS_DATAPATH:-passthrough}
declare -A REF_FAIL	# case -> failed on tmpfs

# run LABEL DIR1 DIR2 [as_user]: one run of every case
run() {
	local label=$1 d1=$2 d2=$3 bad c
	shift 3
	echo "# === $label"
	"$@" "$CONFORM" -e "$LIMITS" -k "$DEFECTS" -p "$DATAPATH" "$d1" "$d2" | tee "$WORK/out"
	bad=$(grep '^not ok' "$WORK/out" | grep -v '# TODO' |
	      sed 's/^not ok [0-9]* - \([a-z_0-9]*\).*/\1/')
	for c in $bad; do
		case $label in
		tmpfs*) REF_FAIL[$c]=1; FAILED+=("$label: $c (the case is wrong: it fails on tmpfs)") ;;
		*) FAILED+=("$label: $c${REF_FAIL[$c]:+ (fails on tmpfs too)}") ;;
		esac
	done
	if [ "${PIPESTATUS[0]}" -gt 1 ]; then
		FAILED+=("$label: conform could not run")
	fi
}

start=$(date +%s.%N)
mount_ref
pair_dirs "$WORK/ref/a/root" "$WORK/ref/b/root" 0
pair_dirs "$WORK/ref/a/user" "$WORK/ref/b/user" $USER_ID
run "tmpfs root" "$WORK/ref/a/root" "$WORK/ref/b/root"
run "tmpfs user" "$WORK/ref/a/user" "$WORK/ref/b/user" as_user
umount_ref

mount_cdmfs "$DATAPATH"
M=$WORK/mnt
pair_dirs "$M/sim0/root" "$M/sim1/root" 0
pair_dirs "$M/sim0/user" "$M/sim1/user" $USER_ID
run "cdmfs $DATAPATH root" "$M/sim0/root" "$M/sim1/root"
run "cdmfs $DATAPATH user" "$M/sim0/user" "$M/sim1/user" as_user
umount_cdmfs "cdmfs $DATAPATH"
echo "# took $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?') s"
finish
