#!/usr/bin/env bash
# Memory and open files per source: the service with 1 source and with N sources (default 5000), all polling one
# local upstream (python3's http.server) every 30 s. After two rounds of
# fetches, for each run: heap in use after a full GC (jcmd GC.run, then GC.heap_info), the process's RSS, its open
# file descriptors (sockets of fetches in flight included) and its sockets in CLOSE_WAIT. The per-source figure is (N-source run - 1-source run) / (N - 1).
# Writes bench/results/sources.txt. Usage: bench/sources.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
n=${1:-5000}
port=${BENCH_PORT:-18097}
up=$((port + 1))
mvn -B -q -DskipTests -Dspotless.check.skip=true package
work=$(mktemp -d)
python3 -c "
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = b'{\"v\":1}'
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
    def handle_error(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True; request_queue_size = 1024
    def handle_error(self, *a): pass
S(('127.0.0.1', $up), H).serve_forever()
" &
upstream=$!
trap 'kill $upstream 2>/dev/null || true; rm -rf "$work"' EXIT
closewait() { # $1 = pid: its sockets in CLOSE_WAIT (/proc/PID/net/tcp lists the whole network namespace: keep the
  # sockets that are this process's descriptors)
  local inodes
  inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | grep -oE 'socket:\[[0-9]+\]' | grep -oE '[0-9]+' | sort -u)
  awk 'NR > 1 && $4 == "08" {print $10}' "/proc/$1/net/tcp" "/proc/$1/net/tcp6" | sort -u \
    | comm -12 - <(echo "$inodes") | wc -l
}
measure() { # $1 = number of sources; prints "sources heapKB rssKB fds closeWait" (CLOSE_WAIT: 3 samples 1 s apart)
  local count=$1 file="$work/sources-$1.yaml"
  { printf 'server:\n  port: %s\n  host: 127.0.0.1\naggregator:\n  sources:\n' "$port"
    for i in $(seq 1 "$count"); do
      printf '    - id: s%s\n      url: http://127.0.0.1:%s/s%s\n      interval: 30s\n' "$i" "$up" "$i"
    done; } > "$file"
  "$JAVA_HOME/bin/java" -Xmx1g -jar target/aggregator.jar --config "$file" > "$work/log-$count" 2>&1 &
  local pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/observe/health/ready"; do sleep 0.5; done
  sleep 70 # two rounds of fetches at interval 30 s (plus the start jitter)
  local heap rss fds cw
  cw="$(closewait "$pid")/"; sleep 1; cw="$cw$(closewait "$pid")/"; sleep 1; cw="$cw$(closewait "$pid")"
  fds=$(ls "/proc/$pid/fd" | wc -l)
  "$JAVA_HOME/bin/jcmd" "$pid" GC.run > /dev/null
  heap=$("$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info | grep -oE 'used [0-9]+K' | head -1 | grep -oE '[0-9]+')
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" || true
  echo "$count $heap $rss $fds $cw"
}
one=$(measure 1)
many=$(measure "$n")
mkdir -p bench/results
{
  echo "sources heap-after-GC-KB RSS-KB open-fds CLOSE_WAIT"
  echo "$one"; echo "$many"
  read -r _ h1 r1 f1 _ <<< "$one"; read -r _ hn rn fn _ <<< "$many"
  echo "per source: heap $(( (hn - h1) * 1024 / (n - 1) )) B, RSS $(( (rn - r1) * 1024 / (n - 1) )) B, open fds $(( (fn - f1) )) more in total"
} | tee bench/results/sources.txt
