#!/bin/sh
# 2 MiB pages by default: the daemon's own store is huge=within_size
# (/proc/mounts) without any -o huge=, an application's mapping of a file
# sized before it is written is PMD-mapped (its own smaps:
# FilePmdMapped/ShmemPmdMapped), and after cdmfsctl moves the file
# node1 -> node2 while it stays mapped every page is on node2 (move_pages),
# node2's ShmemHugePages grew by the file (the kernel moved huge pages as
# huge pages), and the application's mapping is PMD-mapped again once it
# touches the pages.  Printed, not asserted: how much of the mapping is
# still PMD-mapped right after the move, before the application touches it
# (on 6.12, all of it: 2 MiB-aligned batches move each huge page whole
# and it is mapped again by a PMD, no split).
# Appends: a file grown to 16 MiB by 1 MiB or 2 MiB appends gets huge pages
# exactly as on a tmpfs mounted huge=within_size (printed: how much).
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

CTL=$CDMFS_BUILD/tools/cdmfsctl
[ -x "$CTL" ] || skip "no cdmfsctl in the build directory ($CTL)"
grep -qw within_size /sys/kernel/mm/transparent_hugepage/shmem_enabled ||
	skip "the guest kernel has no transparent huge pages for shmem"
MB=16
cdm_mount
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
# the application's mapping as the move left it (its smaps, from outside)
moved_pmd=$(awk '$NF ~ /\/node1\/f$/ { in_f = 1; next }
	/^[0-9a-f]+-[0-9a-f]+ / { in_f = 0 }
	in_f && ($1 == "FilePmdMapped:" || $1 == "ShmemPmdMapped:") { kb += $2 }
	in_f && $1 == "Rss:" { rss = $2 }
	END { printf "pmd_kb %d rss_kb %d", kb, rss }' "/proc/$hpid/smaps")
echo "     right after the move, before the application touches it: $moved_pmd"
g=$(($(node_meminfo 2 ShmemHugePages) - h2))
echo "     node2 ShmemHugePages grew by $g kB"
check_num "moved as huge pages: node2 ShmemHugePages grew by the file (kB)" "$g" -ge $((MB * 1024))
rm hold
wait "$hpid"
check "the application read back every page after the move" test "$?" = 0
echo "     after the move: $(tail -n1 hm.out)"
check "its mapping is PMD-mapped again (smaps: $(tail -n1 hm.out))" \
	sh -c "tail -n1 hm.out | grep -qx 'pmd_kb $((MB * 1024)) rss_kb $((MB * 1024))'"

# Appending writes: huge pages exactly where a tmpfs mounted as the store
# is gives them (its growth in /proc/meminfo), the amounts printed
mkdir -p ref
mount -t tmpfs -o mode=0755,huge=within_size cdmfs-test-ref ref
shmem_huge() { awk '$1 == "ShmemHugePages:" { print $2 }' /proc/meminfo; }
for bs in 1 2; do
	h=$(node_meminfo 1 ShmemHugePages)
	dd if=/dev/zero of="$MNT/node1/app$bs" bs=${bs}M count=$((16 / bs)) oflag=append conv=notrunc status=none
	c=$(($(node_meminfo 1 ShmemHugePages) - h))
	h=$(shmem_huge)
	dd if=/dev/zero of=ref/app$bs bs=${bs}M count=$((16 / bs)) oflag=append conv=notrunc status=none
	t=$(($(shmem_huge) - h))
	echo "     16 MiB grown by $bs MiB appends: $c kB in huge pages on cdmfs, $t kB on tmpfs huge=within_size"
	check "$bs MiB appends: huge pages as on tmpfs ($c kB, $t kB)" test "$c" = "$t"
done
umount ref

cdm_umount
finish
