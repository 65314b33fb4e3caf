#!/usr/bin/env bash
# run.sh measures several `sanse serve` instances in one consumer group at
# province size: a registry of 20,000 schools, a broker process of its own
# (sanse-bench broker), three instances sharing one ClickHouse database and
# one visitor key, and `sanse simulate` producing RATE events/s. After
# KILL_AFTER it kills one instance with SIGKILL and reports how long the
# survivors took to take over its partitions (rebuilding those schools from
# ClickHouse) and to store events of those partitions again; then it starts a
# fourth instance, and at the end compares the map of every live instance.
# BENCHMARKS.md ("Several instances") has the figures.
#
#   cmd/sanse-bench/cluster/run.sh
#
# Needs go, curl, clickhouse-client and the local ClickHouse on 127.0.0.1:19000;
# creates and drops the database bench_cluster. Environment: N (schools,
# 20000), PARTITIONS (6), RATE (5000), DURATION (150s of simulation),
# KILL_AFTER (60 s), WORK (scratch directory).
set -euo pipefail

N=${N:-20000}
PARTITIONS=${PARTITIONS:-6}
RATE=${RATE:-5000}
DURATION=${DURATION:-150}
KILL_AFTER=${KILL_AFTER:-60}
CH_PORT=${CH_PORT:-19000}
WORK=${WORK:-$(mktemp -d /tmp/bench-cluster.XXXXXX)}
ROOT=$(git rev-parse --show-toplevel)
BROKER=127.0.0.1:18600
DB=bench_cluster

ch() { clickhouse-client --port "$CH_PORT" -q "$1"; }
ts() { date +%s.%N; }
log() { echo "$(date -u +%H:%M:%S)  $*"; }

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	ch "DROP DATABASE IF EXISTS $DB" || true
}
trap cleanup EXIT
mkdir -p "$WORK"
log "scratch: $WORK; machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

(cd "$ROOT" && go build -o "$WORK/sanse" ./cmd/sanse && go build -o "$WORK/sanse-bench" ./cmd/sanse-bench)
(cd "$ROOT" && go run cmd/sanse-bench/mapapi/registry.go -n "$N" -seed 20251125 -o "$WORK/registry.csv")
ch "DROP DATABASE IF EXISTS $DB"
ch "CREATE DATABASE $DB"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/visitor.key"
printf 'web:\n  insecure_no_auth: true\n  rate_limit: -1\n' >"$WORK/sanse.yaml"

# The broker runs until its standard input ends: a pipe held open here.
mkfifo "$WORK/broker.in"
exec 3<>"$WORK/broker.in"
"$WORK/sanse-bench" broker -listen "$BROKER" -partitions "$PARTITIONS" <&3 >"$WORK/broker.log" 2>&1 &
pids+=($!)
sleep 2

declare -A PID
start() { # start <n>
	local n=$1
	"$WORK/sanse" serve --config.file "$WORK/sanse.yaml" --web.listen-address "127.0.0.1:1870$n" \
		--kafka.brokers "$BROKER" --clickhouse.dsn "clickhouse://127.0.0.1:$CH_PORT/$DB" \
		--registry.file "$WORK/registry.csv" --data.dir "$WORK/data-$n" --privacy.visitor-key-file "$WORK/visitor.key" \
		--log.level info >"$WORK/sanse-$n.log" 2>&1 &
	PID[$n]=$!
	pids+=($!)
	for _ in $(seq 240); do
		curl -sf -o /dev/null "http://127.0.0.1:1870$n/readyz" && return
		sleep 0.5
	done
	echo "run.sh: instance $n not ready; $WORK/sanse-$n.log:" >&2
	tail -20 "$WORK/sanse-$n.log" >&2
	exit 1
}
owned() { # the partitions instance n held last
	grep 'consumer group generation started' "$WORK/sanse-$1.log" | tail -1 | sed -n 's/.*owned="\?\[\([0-9 ]*\)\].*/\1/p'
}
stored_of() { # distinct events stored from partitions "p q …"
	ch "SELECT uniqExact(id) FROM $DB.events WHERE kafka_partition IN ($(echo "$1" | tr ' ' ','))"
}

start 1; start 2; start 3
for _ in $(seq 120); do
	[ -n "$(owned 1)" ] && [ -n "$(owned 2)" ] && [ -n "$(owned 3)" ] &&
		[ "$(echo "$(owned 1) $(owned 2) $(owned 3)" | wc -w)" = "$PARTITIONS" ] && break
	sleep 0.5
done
log "partitions: 1 [$(owned 1)], 2 [$(owned 2)], 3 [$(owned 3)]"

"$WORK/sanse" simulate --kafka.brokers "$BROKER" --registry.file "$WORK/registry.csv" --rate "$RATE" --duration "${DURATION}s" \
	>"$WORK/sim.log" 2>&1 &
SIM=$!
pids+=($SIM)
sleep "$KILL_AFTER"

victim=$(owned 2)
before=$(stored_of "$victim")
log "events stored: $(ch "SELECT uniqExact(id) FROM $DB.events"), of instance 2's partitions [$victim]: $before; RSS of 1: $(ps -o rss= "${PID[1]}") KiB"
seen1=$(grep -c 'partitions taken over' "$WORK/sanse-1.log" || true)
seen3=$(grep -c 'partitions taken over' "$WORK/sanse-3.log" || true)
kill -9 "${PID[2]}"
killed=$(ts)
wait "${PID[2]}" 2>/dev/null || true
log "killed instance 2 (SIGKILL)"
# The survivors take its partitions over once the group's session timeout
# passed: each logs what it rebuilt. Then their events are stored again.
until [ "$(grep -c 'partitions taken over' "$WORK/sanse-1.log" || true)" -gt "$seen1" ] &&
	[ "$(grep -c 'partitions taken over' "$WORK/sanse-3.log" || true)" -gt "$seen3" ]; do
	sleep 0.1
done
taken=$(ts)
after=$(stored_of "$victim")
while [ "$(stored_of "$victim")" -le "$after" ]; do sleep 0.1; done
moved=$(ts)
log "instance 2's partitions taken over $(echo "$taken - $killed" | bc) s after the kill; their events stored again $(echo "$moved - $killed" | bc) s after it"
for n in 1 3; do
	{ grep 'partitions taken over' "$WORK/sanse-$n.log" || true; } | tail -1 | sed "s/^/  instance $n: /"
done

start 4
for _ in $(seq 120); do [ -n "$(owned 4)" ] && break; sleep 0.5; done
log "instance 4 joined; partitions: 1 [$(owned 1)], 3 [$(owned 3)], 4 [$(owned 4)]"
for n in 1 3 4; do
	{ grep 'partitions taken over' "$WORK/sanse-$n.log" || true; } | tail -1 | sed "s/^/  instance $n: /"
done
wait "$SIM" || true
log "simulation over: $(tail -1 "$WORK/sim.log")"
sleep 5
for n in 1 3 4; do
	curl -s "http://127.0.0.1:1870$n/api/v1/map" -o "$WORK/map-$n.json"
	printf 'instance %s map: %s\n' "$n" "$(tr ',' '\n' <"$WORK/map-$n.json" | grep -o '"level":"[a-z]*"' | sort | uniq -c | tr '\n' ' ')"
done
if cmp -s "$WORK/map-1.json" "$WORK/map-3.json" && cmp -s "$WORK/map-1.json" "$WORK/map-4.json"; then
	log "the three maps are identical"
else
	log "the maps differ"
fi
log "events: $(ch "SELECT count(), uniqExact(id) FROM $DB.events") (rows, distinct ids)"
