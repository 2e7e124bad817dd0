#!/usr/bin/env bash
# Cold start: time from launching the JVM to the first 200 with data on GET /api/sources/demo-clock (the shipped
# config; the first fetch goes through the service's own HTTP client), over RUNS launches (default 7) of each variant,
# interleaved so that a change in the machine's load hits every variant alike:
#   plain       java LAUNCH -jar target/aggregator.jar   (LAUNCH: the JIT flags bin/run and the image start with)
#   aot         java -XX:AOTCache=target/aggregator.aot LAUNCH -jar ...   (the cache bin/aot makes; remade when stale):
#               the shipped start
#   aot-jitdefault  aot without LAUNCH (the JVM's default JIT thresholds, as the service started before)
#   aot+c1      aot with -XX:TieredStopAtLevel=1 (C1 only: less JIT work at start, slower code later)
#   floor       the floor: a bare Helidon SE server (bench/src/.../StartupFloor.java: one route answering a fixed JSON
#               body, no config file, no store, no upstream call) from a jar on the service's own libraries, with its
#               own AOT cache trained the same way (target/startup-floor.aot) and LAUNCH: what Helidon and the JVM cost
#   floor-jitdefault  the floor without LAUNCH
#   aot+redis   the AOT cache, clustered (REDIS_URL): the first answer is the shared snapshot read from Redis at start
#               (only when redis-server is installed; the script runs its own on port BENCH_PORT+1)
#   aot+restored-slow5s  the AOT cache on a config whose one source's upstream takes 5 s to answer, with a durable
#               store written by a seeding run: the first 200 is the restored snapshot, with no upstream call waited
#               for (needs python3 for the slow upstream; SLOW=0 skips it). The probe accepts only a 200 whose body
#               says "restored":true, and the report counts the upstream's requests during the measured runs
#   base-aot    with BASE=DIR: DIR/aggregator.jar (with its DIR/libs) and its own cache DIR/aggregator.aot (made by
#               bin/aot --jar when missing), e.g. an older build, measured in the same runs as this one
# Every other variant starts on a new, empty data directory (AGGREGATOR_DATA_DIR), so it pays for creating the store
# but restores nothing, as a first start does.
# Prints each run (with the CPU time the process used by its first 200, the steadier figure on a busy machine) and the
# medians, and writes them to bench/results/startup.txt.
# TRACE=1 also starts each JVM with -Daggregator.startupTrace=<launch time> and reports each run's start phases
# (main, config read, server built, listening, first fetch, first 200 sent: milliseconds since launch), which the
# service prints on stderr (io.github.aggregator.observe.StartupTrace; the floor prints none).
# Usage: bench/startup.sh [RUNS]. ONLY=aot,base-aot measures only the variants named. NICE=-10 (as root) runs the measured JVM ahead of other jobs on a shared machine;
# the report records it and the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/jdk.sh
runs=${1:-7}
port=${BENCH_PORT:-18099}
nice_level=${NICE:-0}
mvn -B -q -DskipTests -Dspotless.check.skip=true package
if [ ! -f target/aggregator.aot ] || [ target/aggregator.jar -nt target/aggregator.aot ]; then
  bin/aot --no-build
fi
# the launch flags bin/run (and the Dockerfile's ENTRYPOINT) start the service with, besides the AOT cache
launch=$(grep -o -- '-XX:CompileThresholdScaling=[0-9]*' bin/run | head -n 1)
[ -n "$launch" ] || { echo "bench/startup.sh: no -XX:CompileThresholdScaling in bin/run" >&2; exit 2; }
mkdir -p bench/results
# The probe is bash's own /dev/tcp and read -t (no process per attempt: a curl every 5 ms would take a good part of
# a core from the JVM being measured): one HTTP/1.1 GET per attempt, 200 means data.
tick=$(mktemp -u); mkfifo "$tick"; exec 9<>"$tick"; rm -f "$tick"
probe_path=/api/sources/demo-clock
probe_want=""  # when set, a 200 counts only when its body holds this text
probe() {
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$probe_path" >&3
  local proto status rest=""
  read -r -t 5 proto status _ <&3 || status=""
  if [ "$status" = 200 ] && [ -n "$probe_want" ]; then
    read -r -t 5 -d '' rest <&3 || true
  fi
  exec 3<&-
  [ "$status" = 200 ] && { [ -z "$probe_want" ] || [[ $rest == *"$probe_want"* ]]; }
}
# The floor: StartupFloor in a jar whose manifest names the service's libraries (the service's class path), and its
# own AOT cache, trained as bin/aot trains the service's (same diagnostic switches) on a few requests, then SIGTERM
floor_src=bench/src/io/github/aggregator/bench/StartupFloor.java
if [ ! -f target/startup-floor.jar ] || [ target/aggregator.jar -nt target/startup-floor.jar ] ||
   [ "$floor_src" -nt target/startup-floor.jar ]; then
  rm -rf target/floor-classes && mkdir -p target/floor-classes
  "$JAVA_HOME/bin/javac" --release 25 -d target/floor-classes -cp "target/libs/*" "$floor_src"
  (cd target/floor-classes && "$JAVA_HOME/bin/jar" --extract --file ../aggregator.jar META-INF/MANIFEST.MF)
  tr -d '\r' < target/floor-classes/META-INF/MANIFEST.MF |
    awk '/^Class-Path:/ {p=1; print; next} p && /^ / {print; next} {p=0}' > target/floor-classes/MANIFEST.MF
  echo "Main-Class: io.github.aggregator.bench.StartupFloor" >> target/floor-classes/MANIFEST.MF
  "$JAVA_HOME/bin/jar" --create --file target/startup-floor.jar --manifest target/floor-classes/MANIFEST.MF \
    -C target/floor-classes io
fi
if [ ! -f target/startup-floor.aot ] || [ target/startup-floor.jar -nt target/startup-floor.aot ]; then
  PORT=$port "$JAVA_HOME/bin/java" -XX:AOTCacheOutput=target/startup-floor.aot -XX:+UnlockDiagnosticVMOptions \
    -XX:-AOTRecordTraining -XX:-AOTAdapterCaching -jar target/startup-floor.jar >target/floor-training.log 2>&1 &
  floor_pid=$!
  for _ in $(seq 1 3000); do probe && break; read -r -t 0.005 -u 9 _ || true; done
  for _ in $(seq 1 20); do probe || true; done
  kill -TERM "$floor_pid"; wait "$floor_pid" 2>/dev/null || true
  [ -s target/startup-floor.aot ] || { echo "bench/startup.sh: no floor cache; see target/floor-training.log" >&2; exit 1; }
fi
variants=(plain aot aot-jitdefault aot+c1 floor floor-jitdefault)
aot="-XX:AOTCache=target/aggregator.aot"
floor_aot="-XX:AOTCache=target/startup-floor.aot"
declare -A opts=([plain]="$launch" [aot]="$aot $launch" [aot-jitdefault]="$aot"
                 [aot+c1]="$aot $launch -XX:TieredStopAtLevel=1"
                 [floor]="$floor_aot $launch" [floor-jitdefault]="$floor_aot")
declare -A envs=()
declare -A times
declare -A cpus
traces=()
clk_tck=$(getconf CLK_TCK)
declare -A args=()
declare -A paths=()
declare -A wants=()
declare -A jars=([floor]=target/startup-floor.jar [floor-jitdefault]=target/startup-floor.jar)
if [ -n "${BASE:-}" ]; then
  [ -f "$BASE/aggregator.jar" ] || { echo "bench/startup.sh: BASE=$BASE has no aggregator.jar" >&2; exit 2; }
  if [ ! -f "$BASE/aggregator.aot" ] || [ "$BASE/aggregator.jar" -nt "$BASE/aggregator.aot" ]; then
    bin/aot --no-build --jar "$BASE/aggregator.jar"
  fi
  variants=(base-aot "${variants[@]}")
  opts[base-aot]="-XX:AOTCache=$BASE/aggregator.aot $launch"  # its cache, and the same launch flags as aot
  jars[base-aot]="$BASE/aggregator.jar"
fi
work=$(mktemp -d)
# Clustered (when redis-server is installed; CLUSTER=0 skips it): the first answer comes from the shared snapshot in
# Redis, which the script's own redis-server (free port, no persistence) holds after a seeding run
redis_pid=""
slow_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$slow_pid" ]; then kill "$slow_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ "${CLUSTER:-1}" != 0 ] && command -v redis-server >/dev/null; then
  redis_port=$((port + 1))
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 200); do
    if exec 4<>"/dev/tcp/127.0.0.1/$redis_port" 2>/dev/null; then exec 4<&-; break; fi
    read -r -t 0.05 -u 9 _ || true
  done
  redis_url="redis://127.0.0.1:$redis_port"
  env -u AGGREGATOR_CONFIG -u APIVERVE_API_KEY PORT=$port REDIS_URL="$redis_url" \
    "$JAVA_HOME/bin/java" -XX:AOTCache=target/aggregator.aot -jar target/aggregator.jar >/dev/null 2>&1 &
  seed=$!
  for _ in $(seq 1 3000); do probe && break; read -r -t 0.005 -u 9 _ || true; done
  read -r -t 2 -u 9 _ || true  # a few versions into Redis
  kill "$seed"; wait "$seed" 2>/dev/null || true
  variants+=(aot+redis)
  opts[aot+redis]="$aot $launch"
  envs[aot+redis]="REDIS_URL=$redis_url"
fi
# Restored from the durable store, upstream 5 s slow: a seeding run waits out the slow upstream once and stops with
# SIGTERM (writing the store); every measured run starts on that same data directory
if [ "${SLOW:-1}" != 0 ] && command -v python3 >/dev/null; then
  slow_port=$((port + 2))
  python3 -c '
import http.server, sys, time
hits = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global hits
        hits += 1
        with open(sys.argv[2], "w") as f: f.write(str(hits))
        time.sleep(5)
        body = b"{\"rate\": 1.0842}"
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$slow_port" "$work/slow-hits" &
  slow_pid=$!
  printf 'server:\n  port: 8080\naggregator:\n  sources:\n    - id: slow\n      url: http://127.0.0.1:%s/rate\n      interval: 1h\n      timeout: 10s\n' \
    "$slow_port" > "$work/slow.yaml"
  mkdir -p "$work/slow-data"
  probe_path=/api/sources/slow
  env -u AGGREGATOR_CONFIG PORT=$port REDIS_URL= AGGREGATOR_DATA_DIR="$work/slow-data" \
    "$JAVA_HOME/bin/java" -XX:AOTCache=target/aggregator.aot -jar target/aggregator.jar --config "$work/slow.yaml" \
    >/dev/null 2>&1 &
  seed=$!
  for _ in $(seq 1 3000); do probe && break; read -r -t 0.005 -u 9 _ || true; done
  kill "$seed"; wait "$seed" 2>/dev/null || true
  variants+=(aot+restored-slow5s)
  opts[aot+restored-slow5s]="$aot $launch"
  envs[aot+restored-slow5s]="REDIS_URL= AGGREGATOR_DATA_DIR=$work/slow-data"
  args[aot+restored-slow5s]="--config $work/slow.yaml"
  paths[aot+restored-slow5s]=/api/sources/slow
  wants[aot+restored-slow5s]='"restored":true'
  slow_seed_hits=$(cat "$work/slow-hits" 2>/dev/null || echo 0)
fi
if [ -n "${ONLY:-}" ]; then  # e.g. ONLY=base-aot,aot: only these variants are measured
  kept=()
  for v in "${variants[@]}"; do [[ ",$ONLY," == *",$v,"* ]] && kept+=("$v"); done
  variants=("${kept[@]}")
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$runs"); do
  for v in "${variants[@]}"; do
    probe_path=${paths[$v]:-/api/sources/demo-clock}
    probe_want=${wants[$v]:-}
    jar=${jars[$v]:-target/aggregator.jar}
    fresh="$work/data-$i-$v"  # a new, empty data directory (the restored variant names its own in envs)
    start=${EPOCHREALTIME/./}
    trace_opt="" trace_log=/dev/null
    if [ "${TRACE:-0}" = 1 ]; then
      trace_opt="-Daggregator.startupTrace=$start" trace_log="$work/trace-$i-$v.txt"
    fi
    # shellcheck disable=SC2086
    env -u AGGREGATOR_CONFIG -u APIVERVE_API_KEY PORT=$port AGGREGATOR_DATA_DIR="$fresh" ${envs[$v]:-REDIS_URL=} \
      nice -n "$nice_level" "$JAVA_HOME/bin/java" $trace_opt ${opts[$v]} -jar "$jar" ${args[$v]:-} \
      >/dev/null 2>"$trace_log" &
    pid=$!
    ms=""
    for _ in $(seq 1 3000); do
      if probe; then
        ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
        # the CPU time (user + system, every thread) the process has used by its first 200
        read -r -a stat < "/proc/$pid/stat" || stat=()
        cpu=$(( (${stat[13]:-0} + ${stat[14]:-0}) * 1000 / clk_tck ))
        break
      fi
      read -r -t 0.005 -u 9 _ || true  # wait 5 ms
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    [ -n "$ms" ] || { echo "run $i ($v): no data within 15 s" >&2; exit 1; }
    echo "run $i $v: ${ms} ms, cpu ${cpu} ms"
    if [ "$trace_log" != /dev/null ]; then
      phases=$(sed -n 's/^startup: +\([0-9]* ms [^(]*\) (thread.*/\1/p' "$trace_log" | sed 's/ *$//' | paste -sd ';' -)
      if [ -n "$phases" ]; then  # the floor and builds without the trace print none
        traces+=("# trace run $i $v: $phases")
        echo "  phases: $phases"
      fi
    fi
    times[$v]="${times[$v]:-} $ms"
    cpus[$v]="${cpus[$v]:-} $cpu"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "-" hi}'; }
{
  echo "# cold start to first data, $(date -u +%Y-%m-%dT%H:%MZ), $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), $(nproc) cores"
  echo "# command: bench/startup.sh $runs (NICE=$nice_level${ONLY:+ ONLY=$ONLY}${TRACE:+ TRACE=$TRACE}${BASE:+ BASE=<build before>}); launch flags: $launch; load average before: $load_before, after: $load_after"
  if [ -n "${slow_seed_hits:-}" ]; then
    echo "# aot+restored-slow5s: the slow upstream answered $(( $(cat "$work/slow-hits") - slow_seed_hits )) requests during the measured runs (each run's first 200 had \"restored\":true)"
  fi
  if [ ${#traces[@]} -gt 0 ]; then printf '%s\n' "${traces[@]}"; fi
  for v in "${variants[@]}"; do
    # shellcheck disable=SC2086
    echo "$v: median_ms $(median ${times[$v]}) range_ms $(range ${times[$v]}) cpu_median_ms $(median ${cpus[$v]}) runs_ms${times[$v]}"
  done
} | tee bench/results/startup.txt
