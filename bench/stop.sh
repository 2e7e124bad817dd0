# Sourced by the benchmark scripts. stop_started PROGRAM... stops what a benchmark started: the benchmark JVM
# ($bench_pid, when set) and every pid listed in $work/pids while it is still one of PROGRAMs (matched in its command
# line, so a recycled pid is left alone): SIGTERM, then SIGKILL a second later. Meant for `trap ... EXIT`.
stop_started() {
  if [ -n "${bench_pid:-}" ]; then kill "$bench_pid" 2>/dev/null || true; fi
  [ -f "$work/pids" ] || return 0
  local patterns=() program pid
  for program in "$@"; do patterns+=(-e "$program"); done
  ours() { grep -qa "${patterns[@]}" "/proc/$1/cmdline" 2>/dev/null; }
  while read -r pid; do if ours "$pid"; then kill "$pid" 2>/dev/null || true; fi; done <"$work/pids"
  sleep 1
  while read -r pid; do if ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi; done <"$work/pids"
}
