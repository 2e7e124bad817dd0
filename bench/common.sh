# Sourced by bench/fanout.sh, bench/sidebyside.sh and bench/cluster.sh after bin/jdk.sh, with $work set: the steps
# they share to get the machine ready, build the service and the benchmark classes, and run the benchmark JVM into a
# titled result file.

# open_files_for NAME SUBSCRIBERS NEED: raises the soft limit of open files to NEED (one fd per subscriber on each
# side, plus the JVMs' own) when the hard limit allows; exits naming NAME when it stays below.
open_files_for() {
  local name=$1 subscribers=$2 need=$3
  enough() { [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ]; }
  enough || ulimit -Sn "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
  if ! enough; then
    echo "$name: $subscribers subscribers need $need open files, the limit is $(ulimit -n) (hard $(ulimit -Hn))" >&2
    exit 1
  fi
}

# install_for NAME PACKAGE...: installs the Debian packages with apt-get (updating its lists only when the first try
# fails), saying so on stderr; does nothing without packages.
install_for() {
  local name=$1
  shift
  [ $# -gt 0 ] || return 0
  echo "$name: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

# package_service: builds target/aggregator.jar (tests skipped) and empties target/bench-classes and $work.
package_service() {
  mvn -B -q -DskipTests -Dspotless.check.skip=true package
  rm -rf target/bench-classes "$work"
  mkdir -p target/bench-classes "$work" bench/results
}

# helidon_sse_libs: copies Helidon's SSE API, at the service's Helidon version, into target/bench-libs (once). It is not
# a dependency of the service: bench/src's BareStream measures Helidon's own SseSink, so the benchmark gets a copy.
helidon_sse_libs() {
  local helidon a group
  helidon=$(grep -A1 '<artifactId>helidon-se</artifactId>' pom.xml | sed -n 's:.*<version>\(.*\)</version>.*:\1:p' | head -n 1)
  mkdir -p target/bench-libs
  for a in helidon-webserver-sse helidon-http-sse; do
    group=io.helidon.webserver; [ $a = helidon-http-sse ] && group=io.helidon.http
    [ -f "target/bench-libs/$a-$helidon.jar" ] || mvn -B -q dependency:copy -Dartifact="$group:$a:$helidon" \
      -DoutputDirectory=target/bench-libs
  done
}

# compile_bench CLASSPATH: compiles bench/src into target/bench-classes against CLASSPATH.
compile_bench() {
  local sources
  mapfile -t sources < <(find bench/src -name '*.java')
  javac --release 21 -d target/bench-classes -cp "$1" "${sources[@]}"
}

# run_bench TITLE RESULT COMMAND CLASSPATH MAIN ARG...: runs MAIN in the benchmark JVM (its pid in $bench_pid while it
# runs, for stop_started) with its report in $work/report.txt, then prints that report under a header of TITLE, the
# date, the JDK, the cores, COMMAND and the machine's load before and after, and writes it to bench/results/RESULT.
run_bench() {
  local title=$1 result=$2 command=$3 classpath=$4 load_before
  shift 4
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$JAVA_HOME/bin/java" -XX:+UseSerialGC -Xms256m -Xmx1g -cp "$classpath" "$@" >"$work/report.txt" &
  bench_pid=$!
  wait "$bench_pid"
  bench_pid=""
  {
    echo "# $title, $(date -u +%Y-%m-%dT%H:%MZ), $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), $(nproc) cores, $command"
    echo "# machine load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$work/report.txt"
  } | tee "bench/results/$result"
}
