#!/usr/bin/env bash
# Benchmark of `lab pmap` against procps-ng `pmap` and a raw read of smaps.
#
# Builds tests/helpers/shapes.c, starts it with 60,000 one-page mappings
# (alternating r-- and rw-, so that none merge), and times side by side, in
# rounds (each command once per round, so that machine noise hits all alike):
#   raw read        cat /proc/PID/smaps > /dev/null   (the kernel's own cost: the floor)
#   procps pmap -x, procps pmap -X, lab pmap -x, lab pmap -X
# Prints median, min and max wall time (fork to exit, output to /dev/null, as
# bench/measure.c times it), peak RSS, the ratios the issues set targets for
# (among them lab pmap -X over the raw read, the floor),
# and the in-process capture time of a 300-mapping process.
#
#   bench/pmap.sh                 # 60,000 mappings, 9 rounds
#   MAPPINGS=20000 RUNS=5 bench/pmap.sh
#
# Needs cc (with static libc, as .ci/run installs), python3 and procps.
# No timing is asserted anywhere in the test suite; this is where speed is told.
set -euo pipefail
cd "$(dirname "$0")/.."

mappings=${MAPPINGS:-60000}
runs=${RUNS:-9}
small=${SMALL_MAPPINGS:-300}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

for tool in cc python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 2; }
done
command -v pmap >/dev/null || echo "bench: procps pmap not found: its rows are skipped" >&2

cargo build --release --quiet --bin lab
cargo build --release --quiet -p pmap-view --example capture_time
lab=$CARGO_TARGET_DIR/release/lab
capture_time=$CARGO_TARGET_DIR/release/examples/capture_time

work=$(mktemp -d)
pids=()
cleanup() {
  # Closing their stdin ends the helpers; kill them too in case they hang.
  exec 3>&- 4>&- 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -static -pthread -o "$work/shapes" tests/helpers/shapes.c 2>/dev/null ||
  cc -O2 -pthread -o "$work/shapes" tests/helpers/shapes.c
cc -O2 -o "$work/measure" bench/measure.c

# Start a helper with SHAPE ARGS on a FIFO held open by file descriptor FD.
start() {
  local fd=$1 name=$2; shift 2
  mkfifo "$work/$name.in"
  "$work/shapes" "$@" <"$work/$name.in" >"$work/$name.out" &
  pids+=($!)
  eval "exec $fd>\"$work/$name.in\""
  for _ in $(seq 600); do
    grep -q ready "$work/$name.out" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: the helper ($*) did not start" >&2
  exit 1
}
start 3 big many "$mappings"
big=${pids[0]}
start 4 small many "$small"
small_pid=${pids[1]}

echo "machine: $(nproc) CPUs, $(uname -sr), $(pmap -V 2>/dev/null | head -1 || echo 'no procps')"
echo "process: $(wc -l <"/proc/$big/maps") mappings, smaps $(($(wc -c <"/proc/$big/smaps") / 1024 / 1024)) MiB; $runs rounds"
echo

python3 - "$big" "$lab" "$runs" "$work/measure" <<'PY'
import shutil, subprocess, sys

pid, lab, runs, measure = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
commands = [("raw read (cat smaps)", ["cat", f"/proc/{pid}/smaps"])]
if shutil.which("pmap"):
    commands += [("procps pmap -x", ["pmap", "-x", pid]), ("procps pmap -X", ["pmap", "-X", pid])]
commands += [("lab pmap -x", [lab, "pmap", "-x", pid]), ("lab pmap -X", [lab, "pmap", "-X", pid])]

def run(argv):
    """Wall time (ms) and peak RSS (KiB) of one run, output to /dev/null."""
    done = subprocess.run([measure, *argv], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed: {done.stderr.strip()}")
    ms, rss = done.stdout.split()
    return float(ms), int(rss)

times = {name: [] for name, _ in commands}
peak = {name: 0 for name, _ in commands}
for name, argv in commands:  # warm-up: page cache, binaries
    run(argv)
for _ in range(runs):
    for name, argv in commands:
        ms, rss = run(argv)
        times[name].append(ms)
        peak[name] = max(peak[name], rss)

median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
print(f"{'command':<22} {'median ms':>10} {'min':>8} {'max':>8} {'peak RSS':>10}")
for name, _ in commands:
    t = times[name]
    print(f"{name:<22} {median[name]:>10.1f} {min(t):>8.1f} {max(t):>8.1f} {peak[name] / 1024:>7.1f} MiB")
print()

def ratio(a, b, target):
    """The ratio of the medians, and the median of the ratios within a round
    (less swayed by load that comes and goes between rounds)."""
    if a not in median or b not in median:
        return True
    r = median[a] / median[b]
    per_round = sorted(x / y for x, y in zip(times[a], times[b]))[len(times[a]) // 2]
    ok = r <= target
    print(f"{a + ' / ' + b:<44} {r:>5.2f}x  (per round {per_round:.2f}x)"
          f"  (target <= {target}x)  {'met' if ok else 'NOT MET'}")
    return ok

met = all([
    ratio("lab pmap -x", "raw read (cat smaps)", 1.3),
    ratio("lab pmap -X", "raw read (cat smaps)", 1.1),
    ratio("lab pmap -x", "procps pmap -x", 0.4),
    ratio("lab pmap -X", "procps pmap -X", 0.2),
])
worst = max(peak["lab pmap -x"], peak["lab pmap -X"]) / 1024
print(f"{'lab pmap peak RSS':<44} {worst:>5.1f} MiB (target < 64 MiB)  {'met' if worst < 64 else 'NOT MET'}")
PY

echo
echo "in-process Snapshot::capture of a $small-mapping process (target < 1 ms):"
"$capture_time" "$small_pid" 201
