#!/usr/bin/env bash
# Time the instructors' suite (`lab check`: every lab x implementation) over
# several runs and print each run's total and the median. The build is excluded.
# Usage: bench/suite.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release -q
lab=./target/release/lab
$lab check >/dev/null 2>&1 || { echo "lab check does not pass; fix that first" >&2; exit 1; }
times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  $lab check >/dev/null 2>&1
  end=$(date +%s.%N)
  t=$(awk "BEGIN { print $end - $start }")
  times+=("$t")
  printf 'run %d: %.3f s\n' "$i" "$t"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
printf 'median of %d runs of `lab check` (every lab x implementation): %.3f s (the 6 runs of the 3 core labs: target under 10 s)\n' "$runs" "$median"
echo "per run (last):"
$lab check 2>/dev/null | sed -n '2,$p'
