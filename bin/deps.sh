# Sourced by bin/test: installs the programs the tests drive when they are missing, with apt-get (as root,
# or through sudo). The tests need redis-server and redis-cli (cluster tests start their own on free ports),
# Chromium and chromedriver (browser tests), promtool (the metrics test). A program that cannot be installed is named in one line; the
# tests that need it then fail saying how to install it.

need_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%=*}
    pkg=${pair#*=}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "aggregator: the tests need ${missing[*]}; install them with your package manager" >&2
    return 0
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "aggregator: the tests need ${missing[*]}; run 'apt-get install ${missing[*]}' as root" >&2
      return 0
    fi
  fi
  echo "aggregator: installing ${missing[*]} for the tests (apt-get, once)" >&2
  { "${as_root[@]}" apt-get update -qq \
      && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null; } \
    || echo "aggregator: could not install ${missing[*]}; the tests that need them will fail" >&2
}
