#!/usr/bin/env bash
# Cluster mode on loopback: the latency the Redis hop adds between an upstream change and a subscriber on another
# instance, and the upstream requests per interval of a cluster. One upstream inside the benchmark JVM changes its
# body on every request; it is polled every 200 ms by (a) one instance without Redis, then (b) INSTANCES instances
# (separate JVMs, java -jar) sharing a redis-server that the benchmark starts on a free loopback port without
# persistence. S SSE subscribers per instance stamp each change on the upstream's clock; over a window of K intervals
# after a 5 s warm-up, served -> received is reported per setup (and, in the cluster, for subscribers on the instance
# that fetched vs. the others), with the upstream requests per interval by User-Agent. Prints a summary and writes it
# to bench/results/cluster.txt; bench/README.md explains every figure. Takes about 2 minutes with the defaults.
# Usage: bench/cluster.sh [K] [S] [INSTANCES]      (defaults 200, 4, 3)
# Env: SERVER_JAVA_OPTS   JVM options of every instance (default -Xmx256m; empty for none)
#      REDIS_SERVER       the redis-server binary (default: the one on the PATH, installed with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
changes=${1:-200}
subscribers=${2:-4}
instances=${3:-3}
server_opts=${SERVER_JAVA_OPTS--Xmx256m}
work=target/bench-cluster

. bench/common.sh
redis_server=${REDIS_SERVER:-$(command -v redis-server || true)}
if [ -z "$redis_server" ]; then
  install_for cluster redis-server
  redis_server=$(command -v redis-server)
fi

package_service
helidon_sse_libs # bench/src holds the side-by-side benchmark's classes too, which need Helidon's SSE API
cp="target/aggregator.jar:target/libs/*:target/bench-libs/*"
compile_bench "$cp"

# everything this script starts is stopped on exit: the benchmark JVM, and the instances and the redis-server it
# started (their pids are listed in $work/pids; a pid is signalled only while it is still one of those programs)
bench_pid=""
. bench/stop.sh
trap "stop_started aggregator redis-server" EXIT

run_bench "cluster latency and upstream requests ($("$redis_server" --version | cut -d' ' -f1-3))" cluster.txt \
  "bench/cluster.sh $changes $subscribers $instances" "target/bench-classes:$cp" \
  io.github.aggregator.bench.Cluster --changes "$changes" --subscribers "$subscribers" --instances "$instances" \
  --interval-ms 200 --warmup-ms 5000 --jar target/aggregator.jar --redis-server "$redis_server" \
  --work "$work" --server-opts "$server_opts"
