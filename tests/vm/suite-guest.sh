#!/bin/sh
# Runs inside the guest (run-suite boots one guest for all scripts): each
# tests/vm/test_*.sh named on the command line, in a fresh /tmp work dir,
# under a time limit, printing its output and one "VM-RESULT: <name> <status>"
# line, where status is pass, fail (with the exit code) or skip.
limit=${CDMFS_VM_TEST_TIMEOUT:-300}
for t in "$@"; do
	name=$(basename "$t" .sh)
	echo "=== $name"
	work=$(mktemp -d "/tmp/$name.XXXXXX")
	start=$(date +%s)
	(cd "$work" && exec timeout -k 5 "$limit" sh "$t")
	rc=$?
	secs=$(($(date +%s) - start))
	rm -rf "$work"
	case $rc in
	0) res=pass ;;
	77) res=skip ;;
	124|137) res="fail timeout-${limit}s" ;;
	*) res="fail exit-$rc" ;;
	esac
	echo "VM-RESULT: $name $res ${secs}s"
done
