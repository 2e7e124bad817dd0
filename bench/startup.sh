#!/usr/bin/env bash
# Cold start: time from launching the JVM to the first 200 with data on GET /api/sources/demo-clock,
# over RUNS launches (default 7) on the shipped config. Prints each run and the median, and writes them
# to bench/results/startup.txt. Usage: bench/startup.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
runs=${1:-7}
port=${BENCH_PORT:-18099}
mvn -B -q -DskipTests -Dspotless.check.skip=true package
mkdir -p bench/results
times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  PORT=$port "$JAVA_HOME/bin/java" -jar target/aggregator.jar >/dev/null 2>&1 &
  pid=$!
  ms=""
  for _ in $(seq 1 3000); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/api/sources/demo-clock" 2>/dev/null; then
      ms=$(( ($(date +%s%N) - start) / 1000000 ))
      break
    fi
    sleep 0.005
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$ms" ] || { echo "run $i: no data within 15 s" >&2; exit 1; }
  echo "run $i: ${ms} ms"
  times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
{
  echo "# cold start to first data, $(date -u +%Y-%m-%dT%H:%MZ), $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
  echo "runs_ms: ${times[*]}"
  echo "median_ms: $median"
} | tee bench/results/startup.txt
