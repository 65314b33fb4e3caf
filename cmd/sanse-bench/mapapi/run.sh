#!/usr/bin/env bash
# run.sh measures GET /api/v1/map of a registry of 20,000 schools with wrk:
# this tree's `sanse serve` (every coding, the compact format, revalidation,
# and while events arrive) and, side by side in the same run, an older
# commit's on the plain GeoJSON request. BENCHMARKS.md ("The map API at
# 20,000 schools") has the figures and how to read them.
#
#   cmd/sanse-bench/mapapi/run.sh [old-commit]      # default 825e593, main before the map cache
#
# Needs go, git, wrk, curl, clickhouse-client and the local ClickHouse
# (deploy/clickhouse.sh) on 127.0.0.1:19000; it creates and drops the
# databases bench_mapapi_old and bench_mapapi_new. Environment: N (schools,
# 20000), DURATION (20s), CONNECTIONS (16), THREADS (2), RATE (events per
# second produced before the runs and during the "while events arrive" case,
# 200; 0 skips both), INCIDENTS (sanse simulate --incidents, 100: enough
# colour changes among 20,000 schools for the map to change about every
# second), WORK (scratch directory, a new one under /tmp).
set -euo pipefail

OLD=${1:-825e593}
N=${N:-20000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
RATE=${RATE:-200}
INCIDENTS=${INCIDENTS:-100}
CH_PORT=${CH_PORT:-19000}
WORK=${WORK:-$(mktemp -d /tmp/bench-mapapi.XXXXXX)}
ROOT=$(git rev-parse --show-toplevel)
NEW_ADDR=127.0.0.1:18481 NEW_BROKER=127.0.0.1:18491
OLD_ADDR=127.0.0.1:18482 OLD_BROKER=127.0.0.1:18492

for tool in go git wrk curl clickhouse-client; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is not on PATH" >&2; exit 1; }
done
mkdir -p "$WORK"
echo "# scratch: $WORK" >&2

ch() { clickhouse-client --port "$CH_PORT" -q "$1"; }

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	ch "DROP DATABASE IF EXISTS bench_mapapi_old" || true
	ch "DROP DATABASE IF EXISTS bench_mapapi_new" || true
}
trap cleanup EXIT

# The two binaries, as released (no race detector): this tree, and the old
# commit exported with git archive.
NEW_REV=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain)" ] || NEW_REV="$NEW_REV+changes"
OLD_REV=$(git -C "$ROOT" rev-parse --short "$OLD")
(cd "$ROOT" && go build -o "$WORK/sanse-new" ./cmd/sanse)
rm -rf "$WORK/old-src" && mkdir -p "$WORK/old-src"
git -C "$ROOT" archive "$OLD" | tar -x -C "$WORK/old-src"
(cd "$WORK/old-src" && go build -o "$WORK/sanse-old" ./cmd/sanse)

# The registry TestBrowserMapScale uses.
(cd "$ROOT" && go run cmd/sanse-bench/mapapi/registry.go -n "$N" -seed 20251125 -o "$WORK/registry.csv")

start() { # start <old|new> <web address> <broker address>
	local v=$1 addr=$2 broker=$3
	ch "DROP DATABASE IF EXISTS bench_mapapi_$v"
	ch "CREATE DATABASE bench_mapapi_$v"
	printf 'web:\n  insecure_no_auth: true\n  rate_limit: -1\n' >"$WORK/$v.yaml"
	rm -rf "$WORK/$v-data"
	"$WORK/sanse-$v" serve --config.file "$WORK/$v.yaml" --web.listen-address "$addr" \
		--kafka.embedded-listen-address "$broker" --clickhouse.dsn "clickhouse://127.0.0.1:$CH_PORT/bench_mapapi_$v" \
		--registry.file "$WORK/registry.csv" --data.dir "$WORK/$v-data" --log.level warn \
		>"$WORK/$v.log" 2>&1 &
	pids+=($!)
	eval "${v^^}_PID=$!"
	for _ in $(seq 120); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/api/v1/map?format=compact")" = 200 ]; then return; fi
		sleep 0.5
	done
	echo "run.sh: the $v server did not answer; $WORK/$v.log:" >&2
	tail -20 "$WORK/$v.log" >&2
	exit 1
}
start old "$OLD_ADDR" "$OLD_BROKER"
start new "$NEW_ADDR" "$NEW_BROKER"

simulate() { # simulate <broker> <seconds> <seed>: events of the registry's schools at RATE per second
	"$WORK/sanse-new" simulate --kafka.brokers "$1" --registry.file "$WORK/registry.csv" --rate "$RATE" \
		--incidents "$INCIDENTS" --seed "$3" --duration "$2s" --log.level warn >>"$WORK/simulate.log" 2>&1
}
# Some schools red and yellow, with risks and sources, on both servers.
if [ "$RATE" != 0 ]; then
	simulate "$OLD_BROKER" 15 1 &
	simulate "$NEW_BROKER" 15 1
	wait $!
	sleep 2
fi

TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) cores; $(lscpu | sed -n 's/^Model name: *//p'); go $(go env GOVERSION)"
echo "# new: $NEW_REV; old: $OLD_REV; $N schools; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 10s --latency"
echo
echo "| case | server | request | answer bytes | req/s | p50 | p99 | transfer/s | server CPU ms/req | load before–after |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|"

# measure <label> <old|new> <path> [header…]: one wrk run, one table row. A
# request slower than wrk's timeout (10 s) is counted as an error, not in the
# latencies.
measure() {
	local label=$1 v=$2 path=$3
	shift 3
	local addr pid
	if [ "$v" = old ]; then addr=$OLD_ADDR pid=$OLD_PID; else addr=$NEW_ADDR pid=$NEW_PID; fi
	local url="http://$addr$path" hargs=() wargs=() h
	for h in "$@"; do hargs+=(-H "$h"); wargs+=(-H "$h"); done
	# One answer as it goes over the wire (curl does not decode it).
	local size code
	read -r size code < <(curl -s -o /dev/null -w '%{size_download} %{http_code}\n' "${hargs[@]}" "$url")
	local load0 load1 t0 t1 out
	load0=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(cpu_ticks "$pid")
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency "${wargs[@]}" "$url")
	t1=$(cpu_ticks "$pid")
	load1=$(cut -d' ' -f1 /proc/loadavg)
	echo "$out" >>"$WORK/wrk.txt"
	local rps p50 p99 xfer reqs errs cpu
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	xfer=$(awk '/^Transfer\/sec:/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	errs=$(awk '/Non-2xx or 3xx/ {print $5, "not 2xx/3xx"} /Socket errors/ {sub(/^ *Socket errors: */, "socket errors: "); print}' <<<"$out" | paste -sd';')
	cpu=$(awk -v d=$((t1 - t0)) -v tick="$TICK" -v n="$reqs" 'BEGIN {printf "%.2f", n ? d * 1000 / tick / n : 0}')
	echo "| $label | $v | $code ${*:-(no Accept-Encoding)} | $size | $rps | $p50 | $p99 | $xfer | $cpu | $load0–$load1${errs:+ ($errs)} |"
}

measure "GeoJSON, identity" old /api/v1/map
measure "GeoJSON, identity" new /api/v1/map
measure "GeoJSON, gzip" new /api/v1/map "Accept-Encoding: gzip"
measure "GeoJSON, zstd" new /api/v1/map "Accept-Encoding: zstd"
measure "GeoJSON, br" new /api/v1/map "Accept-Encoding: br"
measure "compact, identity" new "/api/v1/map?format=compact"
measure "compact, gzip" new "/api/v1/map?format=compact" "Accept-Encoding: gzip"
measure "compact, as a browser asks (zstd)" new "/api/v1/map?format=compact" "Accept-Encoding: gzip, deflate, br, zstd"
etag=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip, deflate, br, zstd' "http://$NEW_ADDR/api/v1/map?format=compact" |
	awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')
measure "compact, revalidated (304)" new "/api/v1/map?format=compact" "Accept-Encoding: gzip, deflate, br, zstd" "If-None-Match: $etag"
notes=()
if [ "$RATE" != 0 ]; then
	builds0=$(curl -s "http://$NEW_ADDR/metrics" | awk '/^sanse_api_map_builds_total/ {s += $2} END {print s}')
	simulate "$NEW_BROKER" $((${DURATION%s} + 10)) 2 &
	sim=$!
	pids+=($sim)
	sleep 3
	measure "compact, as a browser asks, while $RATE events/s arrive" new "/api/v1/map?format=compact" "Accept-Encoding: gzip, deflate, br, zstd"
	wait "$sim" || true
	builds1=$(curl -s "http://$NEW_ADDR/metrics" | awk '/^sanse_api_map_builds_total/ {s += $2} END {print s}')
	notes+=("answers built by the new server while events arrived ($((${DURATION%s} + 10)) s): $((builds1 - builds0))")
fi
measure "GeoJSON, identity (again)" old /api/v1/map
measure "GeoJSON, identity (again)" new /api/v1/map
echo
for n in "${notes[@]}"; do echo "# $n"; done
curl -s "http://$NEW_ADDR/metrics" | grep -E '^sanse_api_map_(cache_requests_total|builds_total|cache_answers|cache_bytes)' | sed 's/^/# /'
