#!/bin/sh
# cdmfsctl migrate --wait moves a directory of files between NUMA nodes:
# it returns when every file has moved, exits 0, and then every page of
# every file is on the target node by move_pages(2) (pagenodes), holes
# still holes; node1 -> node2 with plain lines, then back with --json, and
# once more on a terminal (script(1), when the guest has it) to show the
# progress bar.  A refused argument (an unknown device) changes no page.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

CTL=$CDMFS_BUILD/tools/cdmfsctl
[ -x "$CTL" ] || skip "no cdmfsctl in the build directory ($CTL)"
cdm_mount

# 44 MiB in four files over two levels, one sparse (keep TCG
# migrations small)
mkdir -p "$MNT/node1/set/sub"
dd if=/dev/urandom of="$MNT/node1/set/a" bs=1M count=24 status=none
dd if=/dev/urandom of="$MNT/node1/set/b" bs=1M count=12 status=none
dd if=/dev/urandom of="$MNT/node1/set/sub/c" bs=1M count=8 status=none
dd if=/dev/urandom of="$MNT/node1/set/sub/sparse" bs=4k count=1 seek=5000 status=none
files="a b sub/c sub/sparse"
for f in $files; do
	cksum <"$MNT/node1/set/$f" >"ref.$(echo "$f" | tr / _)"
done

"$CTL" devices "$MNT"

# all_on NODE DESC: every resident page of every file on NODE, data intact
all_on() {
	for f in $files; do
		p=$MNT/node1/set/$f
		if [ "$f" = sub/sparse ]; then
			# shellcheck disable=SC2046 # three numbers
			set -- $(page_counts "$p" "$1") "$1" "$2"
			check "$5: sub/sparse: $1/$2 resident pages on node$4, of $3 (the hole stays)" \
				test "$1 $2 $3" = "1 1 5001"
			set -- "$4" "$5"
		else
			check_pages "$2: $f" "$p" "$1"
		fi
		check "$2: $f data unchanged" \
			sh -c "cksum <'$p' | cmp -s - 'ref.$(echo "$f" | tr / _)'"
	done
}
all_on 1 "before"

echo "     --- a refused argument moves nothing"
check_not "migrate --to nosuch is refused" "$CTL" migrate --wait --to nosuch "$MNT/node1/set"
all_on 1 "after the refused migrate"

echo "     --- node1 -> node2, plain lines"
t0=$(date +%s.%N)
"$CTL" migrate --wait --to node2 "$MNT/node1/set" >out 2>&1
rc=$?
t1=$(date +%s.%N)
sed 's/^/     | /' out
echo "     took $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s"
check "exit 0: every file got where it was sent" test "$rc" = 0
check "one line per file, with its outcome" test "$(grep -c 'idle, last: done .* to bind:node2' out)" = 4
all_on 2 "after migrate --to node2"
"$CTL" ls -R "$MNT/node1/set" | sed 's/^/     | /'

echo "     --- node2 -> node1, --json"
"$CTL" --json migrate --wait --policy bind:node1 "$MNT/node1/set" >out.json 2>&1
rc=$?
sed 's/^/     | /' out.json
check "exit 0" test "$rc" = 0
check "JSON says ok" grep -q '"ok":true,"files"' out.json
all_on 1 "after migrate --policy bind:node1"

if command -v script >/dev/null 2>&1; then
	echo "     --- node1 -> node2 on a terminal: the progress bar"
	script -qc "'$CTL' migrate --wait --to node2 '$MNT/node1/set'; echo rc=\$?" /dev/null >tty.out 2>&1
	tr '\r' '\n' <tty.out | grep -v '^$' | sed 's/^/     | /' | tail -n 8
	check "exit 0 on a terminal" grep -q '^rc=0' tty.out
	check "a progress bar with rate and ETA" grep -q '% .*/s ETA ' tty.out
	all_on 2 "after migrate on a terminal"
else
	echo "     (no script(1) in the guest: the terminal run is left out)"
fi

cdm_umount
finish
