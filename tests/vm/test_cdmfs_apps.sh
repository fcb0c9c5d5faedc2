#!/bin/sh
# Unmodified programs on files in a device directory: python3's mmap module,
# cp and cmp, and SQLite (python3's sqlite3 module) with its database mapped
# (PRAGMA mmap_size) in node1's directory; the kernel shows their pages on
# node1 afterwards, and the data is intact.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

cdm_mount
d=$MNT/node1

# --- python3 mmap: write a pattern through a mapping, read it with read() ---
check "python3 mmap writes 32 MiB into node1/py" python3 - "$d/py" <<'PY'
import hashlib, mmap, sys
size = 32 << 20
with open(sys.argv[1], "w+b") as f:
    f.truncate(size)
    m = mmap.mmap(f.fileno(), size)
    block = hashlib.sha256(b"cdmfs").digest() * 128     # 4 KiB
    for off in range(0, size, 4096):
        m[off:off + 4096] = block
        m[off:off + 8] = off.to_bytes(8, "little")
    m.flush()
    m.close()
PY
check "python3 reads it back with read() and finds the pattern" python3 - "$d/py" <<'PY'
import hashlib, sys
block = hashlib.sha256(b"cdmfs").digest() * 128
with open(sys.argv[1], "rb") as f:
    off = 0
    while True:
        b = f.read(4096)
        if not b:
            break
        assert b[:8] == off.to_bytes(8, "little") and b[8:] == block[8:], off
        off += 4096
assert off == 32 << 20, off
PY
check_pages "node1/py written by python3 mmap" "$d/py" 1

# --- cp / cmp: a copy made by cp is on node1 and equal to its source -------
dd if=/dev/urandom of=src bs=1M count=8 status=none
check "cp into node1" cp src "$d/cp"
check "cmp: node1/cp equals its source" cmp src "$d/cp"
check_pages "node1/cp made by cp" "$d/cp" 1

# --- SQLite with its database mapped ---------------------------------------
if ! python3 -c 'import sqlite3' 2>/dev/null; then
	echo "SKIP part: python3 has no sqlite3 module; SQLite on cdmfs untested"
else
	out=$(python3 - "$d/db.sqlite" <<'PY'
import os, sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(path)
db.execute("PRAGMA mmap_size = 268435456")
print("mmap_size", db.execute("PRAGMA mmap_size").fetchone()[0])
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)")
db.execute("CREATE INDEX t_k ON t (k)")
rows = ((i, "key%06d" % (i * 7919 % 20000), os.urandom(900)) for i in range(20000))
with db:
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
with db:
    db.execute("UPDATE t SET v = zeroblob(900) WHERE id % 10 = 0")
    db.execute("DELETE FROM t WHERE id % 7 = 0")
db.close()

# A second connection reads through its own mapping of the database.
db = sqlite3.connect(path)
db.execute("PRAGMA mmap_size = 268435456")
print("integrity", db.execute("PRAGMA integrity_check").fetchone()[0])
print("rows", db.execute("SELECT count(*) FROM t").fetchone()[0])
print("zeroed", db.execute("SELECT count(*) FROM t WHERE v = zeroblob(900)").fetchone()[0])
print("indexed", db.execute("SELECT count(*) FROM t WHERE k BETWEEN 'key001000' AND 'key001999'").fetchone()[0])
for line in open("/proc/self/numa_maps"):
    if path in line:
        print("numa_maps", line.strip())
db.close()
PY
)
	printf '%s\n' "$out" | sed 's/^/     /'
	field() { printf '%s\n' "$out" | sed -n "s/^$1 //p" | head -n1; }
	check "SQLite accepted PRAGMA mmap_size (256 MiB)" test "$(field mmap_size)" = 268435456
	check "PRAGMA integrity_check: ok" test "$(field integrity)" = ok
	# 20000 rows minus ids divisible by 7 (2858 of 0..19999)
	check "17142 rows after the delete" test "$(field rows)" = 17142
	# ids divisible by 10 but not by 7: 2000 - 286
	check "1714 zeroed rows" test "$(field zeroed)" = 1714
	check_num "index range query finds rows" "$(field indexed)" -gt 0
	check "SQLite mapped the database: its numa_maps line shows bind:1" \
		sh -c "printf '%s\n' \"\$1\" | grep -q '^numa_maps [0-9a-f]* bind:1 file=$d/db.sqlite'" sh "$out"
	check_not "no page of SQLite's mapping on another node" \
		sh -c "printf '%s\n' \"\$1\" | grep '^numa_maps' | grep -q ' N[02]='" sh "$out"
	check_pages "node1/db.sqlite after SQLite" "$d/db.sqlite" 1
	check_not "no journal left behind" test -e "$d/db.sqlite-journal"

	# WAL mode: every connection maps the wal-index (db-shm) MAP_SHARED
	# and coordinates through it; a second connection reads the writer's
	# uncheckpointed commits through the WAL.
	out=$(python3 - "$d/wal.sqlite" <<'PY'
import os, sqlite3, subprocess, sys
path = sys.argv[1]
w = sqlite3.connect(path)
w.execute("PRAGMA mmap_size = 268435456")
print("mode", w.execute("PRAGMA journal_mode = WAL").fetchone()[0])
w.execute("PRAGMA wal_autocheckpoint = 0")
w.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
r = sqlite3.connect(path)
r.execute("PRAGMA mmap_size = 268435456")
seen = 0
for batch in range(10):
    with w:
        w.executemany("INSERT INTO t VALUES (?, ?)",
                      ((batch * 500 + i, os.urandom(500)) for i in range(500)))
    seen = r.execute("SELECT count(*) FROM t").fetchone()[0]
print("reader_saw", seen)
for suffix in ("-wal", "-shm"):
    print("pages" + suffix, subprocess.run(["pagenodes", path + suffix, "1"],
          capture_output=True, text=True).stdout.splitlines()[-1])
for line in open("/proc/self/numa_maps"):
    if path + "-shm" in line:
        print("numa_maps", line.strip())
print("checkpoint", w.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
r.close()
w.close()
db = sqlite3.connect(path)
print("integrity", db.execute("PRAGMA integrity_check").fetchone()[0])
print("rows", db.execute("SELECT count(*) FROM t").fetchone()[0])
db.close()
PY
)
	printf '%s\n' "$out" | sed 's/^/     /'
	check "journal_mode=wal" test "$(field mode)" = wal
	check "a second connection saw every commit through the WAL (5000 rows)" \
		test "$(field reader_saw)" = 5000
	for x in wal shm; do
		# pagenodes' verdict while SQLite had the file open
		v=$(field pages-$x)
		n=$(echo "$v" | sed -n 's/^OK all \([0-9]*\) resident pages .*/\1/p')
		check "db-$x while open: ${n:-?}/${n:-?} resident pages on node1 (pagenodes)" \
			test -n "$n"
	done
	check "SQLite's mapping of db-shm shows bind:1" \
		sh -c "printf '%s\n' \"\$1\" | grep -q '^numa_maps [0-9a-f]* bind:1 file=$d/wal.sqlite-shm'" sh "$out"
	check "PRAGMA integrity_check after checkpoint: ok" test "$(field integrity)" = ok
	check "5000 rows" test "$(field rows)" = 5000
	check_pages "node1/wal.sqlite after checkpoint" "$d/wal.sqlite" 1
fi

rm -f "$d/py" "$d/cp" "$d"/*.sqlite*
cdm_umount
finish
