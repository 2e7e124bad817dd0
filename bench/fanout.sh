#!/usr/bin/env bash
# Fan-out and JSON throughput on loopback. Starts the service on a generated config (one source polling an upstream
# inside the benchmark JVM every 200 ms), opens N SSE subscribers (default 10000), forces K upstream changes (default
# 20) and times their delivery, measures the service's RSS per subscriber, then runs wrk on GET /api/sources/{id}
# (200 and 304) beside a bare Helidon route answering the same bytes. Prints a summary and writes it to
# bench/results/fanout.txt; bench/README.md explains every figure. Takes about 3 minutes at N=10000.
# Usage: bench/fanout.sh [N] [K]
# Env: SERVER_JAVA_OPTS   JVM options of the service and the bare server (default -Xmx1g; empty for none)
#      SERVER_SETTINGS    Helidon web server settings for both, e.g. "use-nio=false write-buffer-size=512" (default none)
#      WRK_OPTS           wrk load per run (default "-t2 -c64 -d6s"; five interleaved rounds after a 5 s warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
subscribers=${1:-10000}
changes=${2:-20}
server_opts=${SERVER_JAVA_OPTS--Xmx1g}
server_settings=${SERVER_SETTINGS:-}
wrk_opts=${WRK_OPTS:--t2 -c64 -d6s}
work=target/bench
unset REDIS_URL # one instance alone: a REDIS_URL in the environment would put the service in cluster mode

# one fd per subscriber on each side, plus the JVMs' own; raised here when the hard limit allows
need=$((subscribers + 2000))
enough() { [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ]; }
enough || ulimit -Sn "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
if ! enough; then
  echo "fanout: $subscribers subscribers need $need open files, the limit is $(ulimit -n) (hard $(ulimit -Hn))" >&2
  exit 1
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "fanout: installing wrk" >&2
  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi

mvn -B -q -DskipTests -Dspotless.check.skip=true package
rm -rf target/bench-classes "$work"
mkdir -p target/bench-classes "$work" bench/results
cp="target/aggregator.jar:target/libs/*"
mapfile -t sources < <(find bench/src -name '*.java')
javac --release 21 -d target/bench-classes -cp "$cp" "${sources[@]}"

# everything this script starts is stopped on exit: the benchmark JVM, and the service, bare server and wrk processes
# it started (their pids are listed in $work/pids; a pid is signalled only while it is still one of those programs)
bench_pid=""
. bench/stop.sh
trap "stop_started aggregator wrk" EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xms256m -Xmx1g -cp "target/bench-classes:$cp" \
  io.github.aggregator.bench.Fanout --subscribers "$subscribers" --changes "$changes" \
  --jar target/aggregator.jar --classpath "target/bench-classes:$cp" --work "$work" \
  --server-opts "$server_opts" --server-settings "$server_settings" --wrk "$wrk_opts" >"$work/report.txt" &
bench_pid=$!
wait "$bench_pid"
bench_pid=""
{
  echo "# fan-out and JSON throughput, $(date -u +%Y-%m-%dT%H:%MZ), $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), $(nproc) cores, bench/fanout.sh $subscribers $changes"
  echo "# machine load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  cat "$work/report.txt"
} | tee bench/results/fanout.txt
