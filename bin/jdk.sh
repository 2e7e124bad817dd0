# Sourced by bin/run and bin/test: finds a JDK 21+ and exports JAVA_HOME for Maven.
# Looks at $JAVA_HOME, then `java` on the PATH, then the usual install folders.

java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

find_jdk() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  local d
  for d in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
           /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$d" ] && candidates+=("$d")
  done
  local best="" best_major=0 c m
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    m=$(java_major "$c")
    [ -n "$m" ] || continue
    if [ "$m" -ge 21 ] && [ "$m" -gt "$best_major" ]; then
      best="$c"
      best_major="$m"
    fi
  done
  [ -n "$best" ] || return 1
  echo "$best"
}

if ! JDK=$(find_jdk); then
  echo "aggregator: no JDK 21 or newer found (checked JAVA_HOME, PATH and /usr/lib/jvm); install one, e.g. 'apt-get install openjdk-21-jdk-headless', or set JAVA_HOME to it" >&2
  exit 1
fi
export JAVA_HOME="$JDK"
export PATH="$JAVA_HOME/bin:$PATH"
if ! command -v mvn >/dev/null 2>&1; then
  echo "aggregator: Maven (mvn) not found; install it, e.g. 'apt-get install maven'" >&2
  exit 1
fi
