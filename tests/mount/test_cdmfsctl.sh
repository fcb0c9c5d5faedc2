#!/bin/bash
# cdmfsctl on a real mount: every command, its --json parsed by python3 and
# checked against getfattr and the kernel (stat's size and st_blocks, node
# meminfo), bad input refused with a named reason, a nonzero exit and no
# change (every user.cdm.policy and residency compared before and after),
# a failed migration in the exit status, and Ctrl-C leaving the migration
# to finish in the daemon.  Simulated devices: placement is logical here;
# tests/vm/test_cdmfsctl_migrate.sh checks pages node by node.
. "$(dirname "$0")/lib.sh"
require_root_fuse
: "${CDMFSCTL:?CDMFSCTL must name the cdmfsctl binary}"
command -v python3 >/dev/null || skip "python3 is needed to parse --json"

# Batches of one page make a 64 MiB migration take ~1 s (caught running).
cdm_mount "sim=gpu0:256M,sim=cxl0:96M,migrate_batch=4K"
echo "datapath: $CDMFS_DATAPATH"
ctl() { "$CDMFSCTL" "$@"; }
get() { getfattr --only-values -n "user.cdm.$1" "$2"; }
# py 'expression over j (the parsed JSON) and sys.argv' JSON ARGS...: print it
py() {
	local e=$1 j=$2
	shift 2
	python3 -c "import json, os, sys; j = json.loads(sys.argv[1]); print($e)" "$j" "$@"
}
# pycheck "description" 'boolean expression' JSON [ARGS...]
pycheck() {
	local what=$1 e=$2 j=$3 out
	shift 3
	if out=$(python3 -c "import json, os, sys; j = json.loads(sys.argv[1]); sys.exit(0 if ($e) else 1)" "$j" "$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what $out"
	fi
}
# every user.cdm.policy, residency and migration outcome under the mount:
# what a refused command must leave as it was
snapshot() {
	(cd "$MNT" && find . -mindepth 1 | sort | while read -r f; do
		echo "$f $(get policy "$f" 2>&1) $(get residency "$f" 2>/dev/null)"
	done)
}
# blocks PATH: bytes the kernel says PATH holds (st_blocks)
blocks() { echo $(($(stat -c %b "$1") * 512)); }

mkdir -p "$MNT/gpu0/d/e"
dd if=/dev/urandom of="$MNT/gpu0/a" bs=1M count=8 status=none
dd if=/dev/urandom of="$MNT/gpu0/d/b" bs=1M count=3 status=none
dd if=/dev/urandom of="$MNT/gpu0/d/e/c" bs=4k count=5 status=none
truncate -s 10M "$MNT/gpu0/sparse"
echo hi >"$MNT/cxl0/small"
for f in a d/b d/e/c; do cp "$MNT/gpu0/$f" "$WORK/ref.${f//\//_}"; done

echo "--- usage"
expect_fail "usage:" "no command: usage" ctl
expect_fail "unknown command" "unknown command" ctl frobnicate
ctl --help >/dev/null 2>&1
eq "--help exits 2 (usage)" "$?" 2

echo "--- devices"
ctl devices "$MNT"
check "devices exits 0" ctl devices "$MNT"
j=$(ctl --json devices "$MNT")
# python3 starts slowly on a loaded machine: one call per JSON document
rows=$(py '"\n".join("%s kind=%s backend=%s nodes=%s size=%s simulated=%s used=%s tier=%s health=%s" % (d["name"], d["kind"], d["backend"], d["nodes"], d["size"], "yes" if d["simulated"] else "no", d["used_by_files"], d["tier"], d["health"]) for d in j)' "$j")
printf '%s\n' "$rows"
while read -r name rest; do
	got=$(grep "^$name " <<<"$rows")
	for k in kind backend nodes size simulated; do
		v=$(tr ' ' '\n' <<<"$rest" | sed -n "s/^$k=//p")
		check "devices --json: $name $k=$v as user.cdm.devices says" \
			grep -q " $k=$v " <<<"$got "
	done
done < <(get devices "$MNT")
eq "devices --json: the devices of user.cdm.devices, in order" \
	"$(cut -d' ' -f1 <<<"$rows")" "$(get devices "$MNT" | cut -d' ' -f1)"
node0_total=$(($(awk '/MemTotal/ {print $4}' /sys/devices/system/node/node0/meminfo) * 1024))
check "devices --json: host size is node0's MemTotal (kernel)" \
	grep -q "^host .* size=$node0_total " <<<"$rows"
gpu0_used=$(find "$MNT/gpu0" -type f -printf '%b\n' | awk '{s += $1 * 512} END {print s}')
check "devices --json: gpu0 used by files = st_blocks of its files (kernel: $gpu0_used)" \
	grep -q "^gpu0 .* used=$gpu0_used " <<<"$rows"
check "devices --json: gpu0 is simulated, no nodes, tier or health" \
	grep -q "^gpu0 .*nodes=- .*simulated=yes .*tier=None health=None$" <<<"$rows"
# Without MNT it walks every cdmfs mount of the machine, other people's
# too, which may hold many thousands of files: bounded, and said if cut.
j=$(timeout 120 "$CDMFSCTL" --json devices)
if [ $? = 124 ]; then
	echo "# devices without MNT not checked: walking this machine's other cdmfs mounts took over 120 s"
else
	pycheck "devices without MNT includes this mount" \
		'sys.argv[2] in [d["mount"] for d in j]' "$j" "$MNT"
fi
expect_fail "$WORK/nope: No such file" "devices: a missing MNT is named" ctl devices "$WORK/nope"
expect_fail "not the root of a cdmfs mount" "devices: MNT not a cdmfs root" ctl devices "$MNT/gpu0"
ctl devices "$WORK" >/dev/null 2>&1
eq "devices: a bad MNT exits 2" "$?" 2

echo "--- status"
eq "user.cdm.datapath of the root is the mount's data path" \
	"$(get datapath "$MNT")" "$CDMFS_DATAPATH"
ctl status "$MNT"
check "status names the data path" sh -c "'$CDMFSCTL' status '$MNT' | grep -q 'data path: $CDMFS_DATAPATH'"
before=$(get stats "$MNT")
j=$(ctl --json status "$MNT")
eq "status --json: data path" "$(py 'j[0]["datapath"]' "$j")" "$CDMFS_DATAPATH"
pycheck "status --json: every counter of user.cdm.stats, none smaller than before" \
	'all(k in j[0]["counters"] and j[0]["counters"][k] >= int(v) for k, v in (t.split("=") for t in sys.argv[2].split() if not t.startswith("transport=")))' \
	"$j" "$before"
eq "status --json: no migration" "$(py 'len(j[0]["migrations"])' "$j")" 0
dd if=/dev/urandom of="$MNT/gpu0/big" bs=1M count=64 status=none
check "setfattr bind:cxl0 on a 64 MiB file" setfattr -n user.cdm.policy -v bind:cxl0 "$MNT/gpu0/big"
j=$(ctl --json status "$MNT")
m=$(get migration "$MNT/gpu0/big")
echo "status: $(py 'j[0]["migrations"]' "$j"); getfattr: $m"
pycheck "status --json: the running migration, toward bind:cxl0, of 64 MiB" \
	'[(x["path"], x["policy"], x["total"]) for x in j[0]["migrations"]] == [(sys.argv[2], "bind:cxl0", 67108864)]' \
	"$j" "$MNT/gpu0/big"
pycheck "status --json: bytes done within the total, and a rate" \
	'0 <= j[0]["migrations"][0]["done"] <= 67108864 and j[0]["migrations"][0]["rate_bytes_per_s"] is not None' "$j"
check "the migration ends" wait_migration "$MNT/gpu0/big"
rm "$MNT/gpu0/big"

echo "--- ls"
setfattr -n user.cdm.policy -v interleave:gpu0,cxl0 "$MNT/gpu0/d/b"
ctl ls "$MNT/gpu0"
ctl ls -R "$MNT/gpu0" | tee "$WORK/ls.out"
# paths longer than the old fixed width (32) must not push the columns
check "ls: the POLICY column lines up under its header on every row" awk '
	NR == 1 { c = index($0, "POLICY"); next }
	substr($0, c - 1, 1) != " " || substr($0, c, 1) == " " { bad = 1 }
	END { exit bad || c == 0 }' "$WORK/ls.out"
j=$(ctl --json ls "$MNT/gpu0")
pycheck "ls: the directory's entries, not deeper" \
	'sorted(os.path.basename(x["path"]) for x in j) == ["a", "d", "sparse"]' "$j"
j=$(ctl --json ls -R "$MNT/gpu0")
pycheck "ls -R: everything below" \
	'sorted(x["path"] for x in j) == sorted(sys.argv[2:])' "$j" \
	"$MNT/gpu0" "$MNT/gpu0/a" "$MNT/gpu0/d" "$MNT/gpu0/d/b" "$MNT/gpu0/d/e" \
	"$MNT/gpu0/d/e/c" "$MNT/gpu0/sparse"
rows=$(py '"\n".join("%s %s %s %s %s %s %s %s" % (x["path"], x.get("size"), x.get("allocated"), sum(x.get("residency", {}).values()), ",".join("%s=%d" % kv for kv in x.get("residency", {}).items()) or "-", x["policy"], x.get("drift"), x["policy_from"]) for x in j)' "$j")
printf '%s\n' "$rows"
for f in a d/b d/e/c sparse; do
	p=$MNT/gpu0/$f
	read -r _ size alloc sum res pol drift from < <(grep "^$p " <<<"$rows")
	eq "ls --json $f: size (stat)" "$size" "$(stat -c %s "$p")"
	eq "ls --json $f: allocated (st_blocks)" "$alloc" "$(blocks "$p")"
	eq "ls --json $f: residency adds up to st_blocks (kernel)" "$sum" "$(blocks "$p")"
	r=$(get residency "$p" | tr ' ' '\n' | grep -v '=0$' | paste -sd,)
	eq "ls --json $f: residency as getfattr says" "$res" "${r:--}"
	eq "ls --json $f: policy" "$pol" "$(get policy "$p")"
	eq "ls --json $f: drift" "$drift" "$(get drift "$p")"
	case $f in
	d/b) eq "ls: own policy" "$from" own ;;
	*) eq "ls $f: no policy anywhere: the default" "$from" default ;;
	esac
done
eq "ls: sparse file holds nothing" "$(grep "^$MNT/gpu0/sparse " <<<"$rows" | cut -d' ' -f3)" 0
setfattr -n user.cdm.policy -v preferred:gpu0 "$MNT/gpu0"
j=$(ctl --json ls "$MNT/gpu0/a")
eq "ls: inherited from the device directory" \
	"$(py '(j[0]["policy"], j[0]["policy_from"])' "$j")" "('preferred:gpu0', 'gpu0/')"
setfattr -x user.cdm.policy "$MNT/gpu0"
expect_fail "$MNT/gpu0/nope: No such file" "ls: a missing path is named" ctl ls "$MNT/gpu0/nope"
expect_fail "$WORK: not on a cdmfs mount" "ls: a path off cdmfs is named" ctl ls "$WORK"
expect_fail "no PATH" "ls without a path" ctl ls
expect_fail "unknown option -x" "ls: unknown option" ctl ls -x "$MNT/gpu0"

echo "--- migrate: bad input changes nothing"
snap=$(snapshot)
refused() {
	local want=$1 what=$2 rc
	shift 2
	expect_fail "$want" "migrate refuses $what" ctl migrate "$@"
	ctl migrate "$@" >/dev/null 2>&1
	rc=$?
	eq "migrate refuses $what: exit 2" "$rc" 2
}
refused "policy 'bind:nope': no such device" "an unknown device" --to nope "$MNT/gpu0"
refused "malformed" "a malformed policy" --policy bind "$MNT/gpu0/a"
refused "malformed" "a policy naming a device twice" --policy interleave:gpu0,gpu0 "$MNT/gpu0/a"
refused "one of --policy" "both --policy and --to" --policy bind:cxl0 --to cxl0 "$MNT/gpu0/a"
refused "one of --policy" "neither --policy nor --to" --wait "$MNT/gpu0/a"
refused "no PATH" "no path" --to cxl0
refused "$MNT/gpu0/nope: No such file" "a missing path among good ones" --to cxl0 "$MNT/gpu0/a" "$MNT/gpu0/nope"
refused "mount root has no placement" "the mount root" --to cxl0 "$MNT"
refused "not on a cdmfs mount" "a path off cdmfs" --to cxl0 "$WORK"
refused "unknown option" "an unknown option" --frob --to cxl0 "$MNT/gpu0/a"
if command -v setpriv >/dev/null; then
	expect_fail "$MNT/gpu0/a: Operation not permitted" "migrate refuses another user's file, naming it" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$CDMFSCTL" migrate --to cxl0 "$MNT/gpu0"
else
	echo "# no setpriv: the other-user case is not run"
fi
eq "nothing changed (every policy and residency)" "$(snapshot)" "$snap"

echo "--- migrate --wait a directory"
out=$(ctl migrate --wait --to cxl0 "$MNT/gpu0/d" 2>&1)
rc=$?
echo "$out"
eq "migrate --wait exits 0: every file got there" "$rc" 0
check "plain lines off a terminal (no carriage returns)" sh -c "! printf '%s' '$out' | grep -q \$'\r'"
check "a line per file with its outcome" sh -c "printf '%s\n' '$out' | grep -q '/d/e/c: idle, last: done .* to bind:cxl0'"
for f in d/b d/e/c; do
	p=$MNT/gpu0/$f
	eq "$f: policy (getfattr)" "$(get policy "$p")" bind:cxl0
	eq "$f: residency all on cxl0 = st_blocks (kernel)" "$(get residency "$p")" "cxl0=$(blocks "$p")"
	check "$f: data unchanged" cmp "$p" "$WORK/ref.${f//\//_}"
done
eq "the directory's policy too, for new files" "$(get policy "$MNT/gpu0/d/e")" bind:cxl0
echo new >"$MNT/gpu0/d/e/new"
eq "a new file there follows it" "$(get policy "$MNT/gpu0/d/e/new")" bind:cxl0
eq "a file outside untouched" "$(get policy "$MNT/gpu0/a")" bind:gpu0

j=$(ctl --json migrate --wait --policy interleave:gpu0,cxl0 "$MNT/gpu0/a")
echo "$j"
pycheck "migrate --json: ok, the file done toward the policy, no drift" \
	'j["ok"] and j["waited"] and [(f["path"], f["state"], f["policy"], f["drift"], f["ok"]) for f in j["files"]] == [(sys.argv[2], "done", "interleave:gpu0,cxl0", 0, True)]' \
	"$j" "$MNT/gpu0/a"
eq "migrate --json: the outcome is user.cdm.migration's" \
	"$(py 'j["files"][0]["migration"]' "$j")" "$(get migration "$MNT/gpu0/a")"
eq "interleaved: residency on both" "$(get residency "$MNT/gpu0/a" | tr ' ' '\n' | grep -c '=[1-9]')" 2

echo "--- migrate without --wait returns at once"
dd if=/dev/urandom of="$MNT/gpu0/big" bs=1M count=64 status=none
out=$(ctl migrate --to cxl0 "$MNT/gpu0/big")
eq "says it started" "$out" "$MNT/gpu0/big: migrating to bind:cxl0"
check "still running when it returned" sh -c "getfattr --only-values -n user.cdm.migration '$MNT/gpu0/big' | grep -q ^running"
check "the migration ends" wait_migration "$MNT/gpu0/big"

echo "--- a file that cannot get there: exit status 1, named with the reason"
# a simulated device counts the files in its directory (README, Known
# limits): 80 MiB there leave no room in cxl0 (96 MiB) for 40 MiB more
dd if=/dev/zero of="$MNT/cxl0/fill" bs=1M count=80 status=none
dd if=/dev/urandom of="$MNT/gpu0/huge" bs=1M count=40 status=none
out=$(ctl migrate --wait --to cxl0 "$MNT/gpu0/huge" 2>&1)
rc=$?
echo "$out"
eq "exit 1" "$rc" 1
check "names the file and the reason" sh -c "printf '%s' '$out' | grep -q '$MNT/gpu0/huge: cannot set policy bind:cxl0: No space left on device'"
eq "its policy unchanged" "$(get policy "$MNT/gpu0/huge")" bind:gpu0
eq "its pages unchanged" "$(get residency "$MNT/gpu0/huge")" "gpu0=$(blocks "$MNT/gpu0/huge")"
rm "$MNT/gpu0/huge" "$MNT/cxl0/fill"

echo "--- Ctrl-C leaves the migration running in the daemon"
# not through ctl(): SIGINT must reach cdmfsctl itself, not a subshell
"$CDMFSCTL" migrate --wait --to gpu0 "$MNT/gpu0/big" >"$WORK/int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	getfattr --only-values -n user.cdm.migration "$MNT/gpu0/big" | grep -q '^running' && break
	sleep 0.02
done
kill -INT "$pid"
wait "$pid"
rc=$?
cat "$WORK/int.out"
eq "interrupted: exit 130" "$rc" 130
check "says the migration continues" grep -q "continue in the daemon" "$WORK/int.out"
check "and it does, to its end" wait_migration "$MNT/gpu0/big"
eq "the whole file moved" "$(get residency "$MNT/gpu0/big")" "gpu0=$(blocks "$MNT/gpu0/big")"

echo "--- metrics"
ctl metrics "$MNT" >"$WORK/metrics"
eq "metrics exits 0" "$?" 0
head -n 12 "$WORK/metrics"
check "metrics: Prometheus text format, every sample's metric has a TYPE" python3 - "$WORK/metrics" <<'EOF'
import re, sys
types, ok = {}, True
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ")
        types[name] = t
        ok &= t in ("gauge", "counter")
    elif line.startswith("# HELP "):
        pass
    else:
        m = re.fullmatch(r'([a-z_]+)\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} (\S+)', line)
        if not m or m.group(1) not in types:
            print("bad line:", line); ok = False
        else:
            float(m.group(3))
            ok &= not (types[m.group(1)] == "counter" and not m.group(1).endswith("_total"))
sys.exit(0 if ok else 1)
EOF
while read -r name rest; do
	size=$(tr ' ' '\n' <<<"$rest" | sed -n 's/^size=//p')
	check "metrics: $name size as user.cdm.devices" \
		grep -qx "cdmfs_device_size_bytes{mount=\"$MNT\",device=\"$name\"} $size" "$WORK/metrics"
done < <(get devices "$MNT")
cxl0_used=$(find "$MNT/cxl0" -type f -printf '%b\n' | awk '{s += $1 * 512} END {print s + 0}')
check "metrics: cxl0 used = st_blocks of its files (kernel)" \
	grep -qx "cdmfs_device_used_bytes{mount=\"$MNT\",device=\"cxl0\"} $cxl0_used" "$WORK/metrics"
check "metrics: read requests counted" grep -q "^cdmfs_requests_total{mount=\"$MNT\",op=\"read\"} [0-9]" "$WORK/metrics"
check "metrics: no migration now" grep -qx "cdmfs_migrations{mount=\"$MNT\",state=\"running\"} 0" "$WORK/metrics"
j=$(ctl --json metrics "$MNT")
pycheck "metrics --json: the same samples" \
	'len(j) == len([l for l in open(sys.argv[2]) if not l.startswith("#")])' "$j" "$WORK/metrics"
expect_fail "not the root of a cdmfs mount" "metrics: a bad MNT" ctl metrics "$MNT/gpu0"

cd / || exit 1
cdm_umount
finish
