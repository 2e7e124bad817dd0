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

. bench/common.sh
open_files_for fanout "$subscribers" $((subscribers + 2000))
command -v wrk >/dev/null 2>&1 || install_for fanout wrk

package_service
helidon_sse_libs # bench/src's BareStream needs them to compile
cp="target/aggregator.jar:target/libs/*:target/bench-libs/*"
compile_bench "$cp"

# everything this script starts is stopped on exit: the benchmark JVM, and the service, bare server and wrk processes
# it started (their pids are listed in $work/pids; a pid is signalled only while it is still one of those programs)
bench_pid=""
. bench/stop.sh
trap "stop_started aggregator wrk" EXIT

run_bench "fan-out and JSON throughput" fanout.txt "bench/fanout.sh $subscribers $changes" "target/bench-classes:$cp" \
  io.github.aggregator.bench.Fanout --subscribers "$subscribers" --changes "$changes" \
  --jar target/aggregator.jar --classpath "target/bench-classes:$cp" --work "$work" \
  --server-opts "$server_opts" --server-settings "$server_settings" --wrk "$wrk_opts"
