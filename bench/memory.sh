#!/usr/bin/env bash
# Peak memory of the commands whose input has no bound (issue 11), against
# the goals: each command's peak RSS, as bench/measure.c reports it (fork to
# exit, output to /dev/null).
#
#   lab pmap --json   of a process with 65,000 mappings      goal: < 64 MiB (streamed)
#   lab explain --json  of the same                          goal: < 64 MiB (streamed)
#   lab watch         of that process, 5 and 50 samples      goal: the same for both
#   lab observe -- yes  (a program that prints without end)  goal: bounded (a few MiB)
#   lab diff A B      of two captures of that process        goal: < 2x the size of A + B
#
#   bench/memory.sh                        # 65,000 mappings
#   MAPPINGS=20000 bench/memory.sh
#   LAB=/path/to/other/lab bench/memory.sh # another build (an older one, say)
#
# Needs cc (with static libc, as .ci/run installs). Peak RSS, not time, is
# what is measured here; nothing is asserted in the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

mappings=${MAPPINGS:-65000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${LAB:-}" ]; then
  cargo build --release --quiet --bin lab
  LAB=$CARGO_TARGET_DIR/release/lab
fi

work=$(mktemp -d)
helper=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$helper" ] && kill "$helper" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -static -pthread -o "$work/shapes" tests/helpers/shapes.c 2>/dev/null ||
  cc -O2 -pthread -o "$work/shapes" tests/helpers/shapes.c
cc -O2 -o "$work/measure" bench/measure.c

# The helper reads its stdin from a FIFO held open by fd 3: closing it ends it.
mkfifo "$work/in"
"$work/shapes" many "$mappings" <"$work/in" >"$work/out" &
helper=$!
exec 3>"$work/in"
for _ in $(seq 600); do
  grep -q ready "$work/out" 2>/dev/null && break
  sleep 0.05
done
grep -q ready "$work/out" || { echo "bench: the helper did not start" >&2; exit 1; }

echo "lab: $LAB"
echo "process: $(wc -l <"/proc/$helper/maps") mappings"
echo

# peak NAME GOAL_KIB COMMAND...: run it, print its peak RSS against the goal.
peak() {
  local name=$1 goal=$2; shift 2
  local out status=0
  out=$("$work/measure" "$@" 2>"$work/err") || status=$?
  local kib=${out##* }
  local verdict="met"
  [ "$kib" -lt "$goal" ] || verdict="NOT MET"
  printf '%-34s %9.1f MiB   goal < %7.1f MiB  %s' "$name" "$(echo "$kib / 1024" | bc -l)" \
    "$(echo "$goal / 1024" | bc -l)" "$verdict"
  [ "$status" -eq 0 ] || printf '  (exit %d: %s)' "$status" "$(head -c 100 "$work/err" | head -1)"
  echo
}

peak "lab pmap --json" $((64 * 1024)) "$LAB" pmap --json "$helper"
peak "lab explain --json" $((64 * 1024)) "$LAB" explain --json "$helper"

# watch: the peak with 50 samples may exceed the one with 5 by what is kept
# per sample (a few numbers), not by a capture per sample.
out5=$("$work/measure" "$LAB" watch "$helper" --interval 0.05 --count 5)
five=${out5##* }
peak "lab watch (5 samples)" $((five + 4096)) "$LAB" watch "$helper" --interval 0.05 --count 5
peak "lab watch (50 samples)" $((five + 4096)) "$LAB" watch "$helper" --interval 0.05 --count 50

peak "lab observe -- yes (5 s)" $((16 * 1024)) "$LAB" observe --no-pause --step-timeout 5 -- yes

"$LAB" pmap --json "$helper" >"$work/a.json"
"$LAB" pmap --json "$helper" >"$work/b.json"
inputs=$(( ($(stat -c %s "$work/a.json") + $(stat -c %s "$work/b.json")) / 1024 ))
echo "(diff inputs: $((inputs / 1024)) MiB)"
peak "lab diff a.json b.json" $((2 * inputs)) "$LAB" diff "$work/a.json" "$work/b.json"
