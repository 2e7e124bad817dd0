#!/usr/bin/env bash
# Side by side on loopback, one client program for all: this service, a minimal Node broadcaster
# (bench/node/broadcaster.js, node:http) and nginx + Nchan (one worker), N SSE subscribers each (default 10000), K
# upstream changes each (default 10), one server after the other; then the JSON endpoint against nginx serving the
# same bytes as a static file (wrk, 200 and 304 with gzip), and HTTP/2 against HTTP/1.1 on the service (h2load; SSE
# event latency). Installs what is missing (nginx, libnginx-mod-nchan, nghttp2-client, wrk; Node must be there),
# stops everything it started, writes bench/results/sidebyside.txt. bench/README.md explains every figure.
# Usage: bench/sidebyside.sh [N] [K]
# Env: SERVER_JAVA_OPTS   the service's JVM options (default -Xmx1g)
#      SERVER_SETTINGS    Helidon web server settings for the service, e.g. "write-buffer-size=512"
#      WRK_OPTS           wrk load per run (default "-t2 -c64 -d5s")
#      ONLY               some of service,node,nchan,polling,http2 (default: all), e.g. ONLY=service for a profile
#      BENCH_HISTOGRAM    set: the JVMs' live objects by class after each full GC, target/bench-sidebyside/*.log.histo-N.txt
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
subscribers=${1:-10000}
changes=${2:-10}
server_opts=${SERVER_JAVA_OPTS--Xmx1g}
server_settings=${SERVER_SETTINGS:-}
wrk_opts=${WRK_OPTS:--t2 -c64 -d5s}
work=target/bench-sidebyside
unset REDIS_URL

. bench/common.sh
open_files_for sidebyside "$subscribers" $((subscribers + 3000))

nchan_module=/usr/lib/nginx/modules/ngx_nchan_module.so
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -f "$nchan_module" ] || missing+=(libnginx-mod-nchan)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
install_for sidebyside "${missing[@]}"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
node_bin=$(command -v node || true)
if [ -z "$node_bin" ]; then
  echo "sidebyside: needs Node.js 18+ (node) on the PATH" >&2
  exit 1
fi

package_service
helidon_sse_libs
cp="target/aggregator.jar:target/libs/*:target/bench-libs/*"
compile_bench "$cp"

bench_pid=""
. bench/stop.sh
trap "stop_started aggregator.jar broadcaster.js nginx wrk h2load BareStream" EXIT

run_bench "side by side" sidebyside.txt "bench/sidebyside.sh $subscribers $changes" "target/bench-classes:$cp" \
  io.github.aggregator.bench.SideBySide --subscribers "$subscribers" --changes "$changes" \
  --jar target/aggregator.jar --work "$work" --server-opts "$server_opts" --server-settings "$server_settings" \
  --classpath "target/bench-classes:$cp" --wrk "$wrk_opts" --node "$node_bin" --nginx "$nginx_bin" --nchan-module "$nchan_module" --only "${ONLY:-}"
