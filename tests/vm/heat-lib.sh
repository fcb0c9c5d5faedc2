# DAMON paddr monitoring of a shmem file's frames, for tests/vm/test_heat.sh
# and tests/vm/heat-measure.sh (doc/tiering.md).  Source it; it uses
# D (set here), W (a work directory), F, SIZE, HLEN, HOFF and, for
# heat_toucher, SHARE (non-empty: heatprobe touch --share-cpu).
D=/sys/kernel/mm/damon/admin/kdamonds
SAMPLE_US=${SAMPLE_US:-5000}
AGGR_US=${AGGR_US:-100000}

# damon_start RUNSFILE: a paddr kdamond over the runs, with a stat scheme
# whose tried_regions report every region
damon_start() {
	local c=$D/0/contexts/0 n=0 i=0 s e o
	echo 1 >$D/nr_kdamonds
	echo 1 >$D/0/contexts/nr_contexts
	echo paddr >$c/operations
	echo "$SAMPLE_US" >$c/monitoring_attrs/intervals/sample_us
	echo "$AGGR_US" >$c/monitoring_attrs/intervals/aggr_us
	echo $((AGGR_US * 10)) >$c/monitoring_attrs/intervals/update_us
	n=$(wc -l <"$1")
	echo 10 >$c/monitoring_attrs/nr_regions/min
	echo $((n * 2 > 1000 ? n * 2 : 1000)) >$c/monitoring_attrs/nr_regions/max
	echo 1 >$c/targets/nr_targets
	echo "$n" >$c/targets/0/regions/nr_regions
	while read -r s e o; do
		echo "$s" >$c/targets/0/regions/$i/start
		echo "$e" >$c/targets/0/regions/$i/end
		i=$((i + 1))
	done <"$1"
	echo 1 >$c/schemes/nr_schemes
	echo stat >$c/schemes/0/action
	# every region matches: age and nr_accesses are unsigned int inside
	for k in sz age nr_accesses; do
		echo 0 >$c/schemes/0/access_pattern/$k/min
		echo 4294967295 >$c/schemes/0/access_pattern/$k/max
	done
	echo 1099511627776 >$c/schemes/0/access_pattern/sz/max
	echo on >$D/0/state
}

# damon_regions: "START END NR_ACCESSES" of every region, no forks
damon_regions() {
	local t=$D/0/contexts/0/schemes/0/tried_regions r s e a
	echo update_schemes_tried_regions >$D/0/state
	for r in $t/[0-9]*; do
		[ -e "$r/start" ] || continue
		read -r s <$r/start
		read -r e <$r/end
		read -r a <$r/nr_accesses
		echo "$s $e $a"
	done
}

damon_stop() {
	echo off >$D/0/state 2>/dev/null
	echo 0 >$D/nr_kdamonds
}

# heat_toucher SECS [HOFF]: start heatprobe touch in the background, wait for
# "ready"
heat_toucher() {
	rm -f $W/touch.out
	: >$W/touch.out
	heatprobe touch ${SHARE:+--share-cpu} $F $SIZE "${2:-$HOFF}" $HLEN "$1" >$W/touch.out 2>&1 &
	TPID=$!
	while ! grep -q ready $W/touch.out; do
		kill -0 $TPID 2>/dev/null || { cat $W/touch.out; return 1; }
		sleep 0.2
	done
}

# heat_wait TS SECS: sleep until SECS after TS (a /proc/uptime reading)
heat_wait() {
	while awk -v a="$1" -v at="$2" '{ exit !($1 - a < at) }' /proc/uptime; do
		sleep 0.1
	done
}

