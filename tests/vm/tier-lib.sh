# The tiering workload and the kernel's view of where its window is, for
# tests/vm/test_tiering.sh and bench/guest-tier.  Source it; it uses F (the
# file), SIZE, HLEN, W (a work directory) and WPID (the workload's pid),
# and sets report, ok and lat for the script that sources it.
# shellcheck disable=SC2034

# pages_on FILE OFF LEN NODE: pages of [OFF, OFF+LEN) of FILE on NODE,
# from the kernel (move_pages per page)
pages_on() {
	heatprobe nodes "$1" "$2" "$3" | awk -v n="$4" '$1 == "node" && $2 == n { c = $3 } END { print c + 0 }'
}

# placed HOFF: the window at HOFF on node1 (>= 95 %) and the rest on
# node2 (>= 90 %), by the kernel's per-page answer (one walk); sets $report
placed() {
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(heatprobe nodes "$F" "$1" "$HLEN" | awk '
		$1 == "node" && $2 == 1 { w = $3 }
		$1 == "rest" && $2 == 2 { r = $3 }
		END { print w + 0, r + 0 }')
	wp=$((HLEN / 4096)) rp=$(((SIZE - HLEN) / 4096))
	report="window $1/$wp pages on node1, rest $2/$rp on node2"
	[ "$1" -ge $((wp * 95 / 100)) ] && [ "$2" -ge $((rp * 90 / 100)) ]
}

# wait_line PATTERN: until the workload prints a line matching PATTERN
# into $W/work.out
wait_line() {
	while ! grep -q "$1" "$W/work.out"; do
		kill -0 "$WPID" 2>/dev/null || { cat "$W/work.out"; return 1; }
		sleep 0.2
	done
}

# settle HOFF LIMIT: poll placed HOFF every 0.5 s from now until it holds
# or LIMIT s have passed; sets $lat (seconds, one decimal) and $ok (1 or
# empty) and $report
settle() {
	read -r _ts _ </proc/uptime
	ok=
	while :; do
		if placed "$1"; then
			ok=1
			break
		fi
		read -r _t _ </proc/uptime
		awk -v a="$_ts" -v b="$_t" -v l="$2" 'BEGIN { exit !(b - a > l) }' && break
		sleep 0.5
	done
	read -r _t _ </proc/uptime
	lat=$(awk -v a="$_ts" -v b="$_t" 'BEGIN { printf "%.1f", b - a }')
}
