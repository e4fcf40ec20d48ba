# lib.sh - shared helpers of the benchmark scripts (sourced, not run).
# Timing is wall-clock with the peak resident memory from GNU time's format.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
DH=${DH:-$ROOT/bin/datahabitat}
WORK=${BENCH_WORK:-$BENCH_DIR/work}
mkdir -p "$WORK"

# timed LABEL CMD... : runs CMD, sets $secs and $rss_kb, prints nothing else of its own.
timed() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$tf" "$@" >/dev/null
  local rc=$?
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc -l)
  rss_kb=$(tail -n 1 "$tf")
  rm -f "$tf"
  printf '  %-44s %8.3f s  %8d MB RSS\n' "$label" "$secs" "$((rss_kb / 1024))"
  return $rc
}

# best_of N LABEL CMD... : runs CMD N times (see timed), keeps the fastest run in $secs and
# its peak memory in $rss_kb. Every engine of a comparison gets the same treatment.
best_of() {
  local n=$1 label=$2; shift 2
  local best="" best_rss=0 i
  for i in $(seq "$n"); do
    timed "$label (run $i/$n)" "$@" || return $?
    if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc -l)" = 1 ]; then best=$secs; best_rss=$rss_kb; fi
  done
  secs=$best; rss_kb=$best_rss
}

# result NAME VALUE UNIT : one machine-readable line.
result() { printf 'RESULT %s %s %s\n' "$1" "$2" "$3"; }

ratio() { echo "scale=2; $1 / $2" | bc -l; }
