#!/bin/sh
# -o huge=within_size: the daemon's own store is huge=within_size
# (/proc/mounts), an application's mapping of a file sized before it is
# written is PMD-mapped (its own smaps: FilePmdMapped/ShmemPmdMapped), and
# after cdmfsctl moves the file node1 -> node2 while it stays mapped every
# page is on node2 (move_pages), node2's ShmemHugePages grew by the file
# (the kernel moved huge pages as huge pages), and the application's
# mapping is PMD-mapped again once it touches the pages.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

CTL=$CDMFS_BUILD/tools/cdmfsctl
[ -x "$CTL" ] || skip "no cdmfsctl in the build directory ($CTL)"
grep -qw within_size /sys/kernel/mm/transparent_hugepage/shmem_enabled ||
	skip "the guest kernel has no transparent huge pages for shmem"
MB=16
cdm_mount huge=within_size
opts=$(awk -v p="$CDM_STORE" '$2 == p { print $4 }' /proc/mounts)
echo "     store $CDM_STORE: $opts"
check "the store is mounted huge=within_size" sh -c "echo '$opts' | grep -q huge=within_size"

h1=$(node_meminfo 1 ShmemHugePages)
touch hold
hugemap "$MNT/node1/f" $MB hold >hm.out 2>&1 &
hpid=$!
for _ in $(seq 300); do
	[ -s hm.out ] && break
	sleep 0.1
done
echo "     mapped on node1: $(head -n1 hm.out)"
check "the application's mapping is PMD-mapped (smaps: $(head -n1 hm.out))" \
	grep -qx "pmd_kb $((MB * 1024)) rss_kb $((MB * 1024))" hm.out
check_num "node1 ShmemHugePages grew by the file (kB)" \
	"$(($(node_meminfo 1 ShmemHugePages) - h1))" -ge $((MB * 1024))
check_pages "before the move" "$MNT/node1/f" 1

h2=$(node_meminfo 2 ShmemHugePages)
"$CTL" migrate --wait --to node2 "$MNT/node1/f" >mig.out 2>&1
rc=$?
sed 's/^/     | /' mig.out
check "cdmfsctl migrate --wait exits 0" test "$rc" = 0
check_pages "after the move, still mapped" "$MNT/node1/f" 2
g=$(($(node_meminfo 2 ShmemHugePages) - h2))
echo "     node2 ShmemHugePages grew by $g kB"
check_num "moved as huge pages: node2 ShmemHugePages grew by the file (kB)" "$g" -ge $((MB * 1024))
rm hold
wait "$hpid"
check "the application read back every page after the move" test "$?" = 0
echo "     after the move: $(tail -n1 hm.out)"
check "its mapping is PMD-mapped again (smaps: $(tail -n1 hm.out))" \
	sh -c "tail -n1 hm.out | grep -qx 'pmd_kb $((MB * 1024)) rss_kb $((MB * 1024))'"

cdm_umount
finish
