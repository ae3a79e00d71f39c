#!/usr/bin/env bash
# How long `lab report` takes to read a class, and its peak memory: 300
# documents made from one real `lab check --json` of this machine (every lab),
# with varied facts (kernel, glibc, Python, CPUs, THP, stack limit) and, on
# one machine in five, one or two checks failed (real check objects, from a
# real `lab heap --json`, flipped). Prints the wall time and peak RSS
# (/usr/bin/time -v) of the table, --json and --html, best of RUNS each.
# A benchmark, not a test: it asserts nothing but that the report was made.
# Usage: bench/report.sh [FILES] [RUNS]   (default 300 files, 5 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-300}
runs=${2:-5}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time: apt-get install time)" >&2; exit 2; }
cargo build --release -q
lab=$PWD/target/release/lab
dir=$(mktemp -d "${TMPDIR:-/tmp}/pmap-lab-report-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# One real suite and one real run (for check objects); exit 1 (a failed
# check here) still makes a document.
$lab check --json >"$dir/base.json" 2>/dev/null || [ $? -eq 1 ]
$lab heap --no-pause --json >"$dir/heap.json" 2>/dev/null || [ $? -eq 1 ]

python3 - "$dir" "$files" <<'PY'
import copy, json, random, sys
d, n = sys.argv[1], int(sys.argv[2])
base = json.load(open(f"{d}/base.json"))
checks = [(s["index"], c) for s in json.load(open(f"{d}/heap.json"))["steps"] for c in s["checks"]]
rng = random.Random(14)
kernels = ["6.1.0-18-amd64", "6.1.0-26-amd64", "6.8.0-45-generic", "6.12.12-amd64", "6.11.0-1014-azure"]
glibcs = ["2.31", "2.35", "2.36", "2.39", "2.41"]
pythons = ["3.9.2", "3.10.12", "3.11.2", "3.12.3", "3.13.5"]
os = []
for i in range(n):
    doc = copy.deepcopy(base)
    facts = {"kernel": rng.choice(kernels), "libc_version": rng.choice(glibcs),
             "cpus": str(rng.choice([1, 2, 2, 4, 4, 8, 16])), "thp": rng.choice(["always", "madvise", "never"]),
             "stack": rng.choice(["8192 KiB", "8192 KiB", "unlimited"])}
    py = rng.choice(pythons)
    doc["machine"].update(facts)
    for r in doc["runs"]:
        if "facts" in r:
            r["facts"].update(facts)
            if r["impl"] == "python":
                r["facts"]["python_version"] = py
    doc["machine"].setdefault("python_version", py)
    if rng.random() < 0.2:
        run = next(r for r in doc["runs"] if r["lab"] == "heap" and r["impl"] == "c")
        for step, c in rng.sample(checks, rng.choice([1, 2])):
            c = dict(c, status="fail", passed=False, observed="+%d KiB" % rng.randint(0, 60000))
            c.pop("observed_value", None)
            run["failed_checks"].append({"step": step, "check": c})
            run["checks_passed"] -= 1
        run["result"], run["passed"], doc["passed"] = "fail", False, False
    with open(f"{d}/student-{i:03d}.json", "w") as f:
        json.dump(doc, f, indent=2)
PY
rm "$dir/base.json" "$dir/heap.json"
size=$(du -sk "$dir" | cut -f1)
echo "$files documents, $size KiB in all, $(wc -c <"$dir/student-000.json") bytes each"

# Best of $runs: wall seconds and peak RSS (KiB) of `lab report FILES ARGS`.
measure() {
  local label=$1 best_t="" best_m=""
  shift
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -v "$lab" report "$dir"/student-*.json "$@" >/dev/null 2>"$dir/time.txt" || true
    grep -q "Exit status: 0" "$dir/time.txt" || { cat "$dir/time.txt" >&2; exit 1; }
    local t m
    t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$dir/time.txt")
    m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
    if [ -z "$best_t" ] || awk "BEGIN { exit !($t < $best_t) }"; then best_t=$t; fi
    if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
  done
  printf '%-40s %6.3f s  peak RSS %6d KiB\n' "lab report ($files files)$label" "$best_t" "$best_m"
}
measure ""
measure " --json" --json
measure " --html class.html" --html "$dir/class.html"
