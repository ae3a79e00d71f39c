#!/usr/bin/env bash
# How `lab report` grows with the class: wall time per document and peak RSS
# at 1,000, 10,000 and 100,000 documents (docs/class-report.md has the
# figures). The documents are made from real outputs of this machine's lab:
#   - `lab check --json` of every lab, and `lab check heap --json` built with a
#     malloc that writes every block (a machine where six heap (c) checks
#     really fail);
#   - `lab grade NAME FILE --json` of each exercise, for its right and wrong
#     solutions (tests/exercises) and its starter.
# Each document is one of them with the machine's facts varied (kernel,
# glibc version, CPUs, THP, stack limit; a Python version for check
# documents) and, for a grade document, the student's file named; two in
# three are check documents, one in five of those the failing one.
# Then, best of RUNS, the table (`lab report FILES`) and the JSON with the
# HTML page (`lab report FILES --json --html OUT`), with /usr/bin/time -v:
# wall seconds, CPU seconds (user + system), CPU microseconds per document,
# that as a ratio of the smallest class's (1.0 is linear), and the peak RSS.
#
#   bench/report.sh                   # 1000 10000 100000, best of 3
#   RUNS=1 bench/report.sh 1000 4000  # other sizes
#   KEEP=DIR bench/report.sh          # keep the documents in DIR
#   LAB=path/to/lab bench/report.sh   # that binary (no build)
#   DISTINCT=1 bench/report.sh        # every machine a kernel of its own (the
#                                     # worst case: one group per document)
#
# Needs cc, python3 and GNU time. The files (about 16 KiB a document, 1.6 GB
# for 100,000) go to a temporary folder under TMPDIR, removed at the end.
# A benchmark, not a test: nothing in the test suite asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
runs=${RUNS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time: apt-get install time)" >&2; exit 2; }
for tool in cc python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 2; }
done
if [ -n "${LAB:-}" ]; then
  lab=$LAB # a lab binary built before
else
  cargo build --release --quiet --bin lab
  lab=$CARGO_TARGET_DIR/release/lab
fi
if [ -n "${KEEP:-}" ]; then
  dir=$KEEP # the documents stay there, and are made again
  rm -rf "$dir/real" "$dir/class"
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pmap-lab-report-bench.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
mkdir "$dir/real" "$dir/class"

# The real documents. Exit 1 (a check failed) still makes a document.
$lab check --json >"$dir/real/check.json" 2>/dev/null || [ $? -eq 1 ]
cat >"$dir/real/touch.c" <<'C'
#include <stddef.h>
#include <string.h>
void *__real_malloc(size_t);
void *__wrap_malloc(size_t n) { void *p = __real_malloc(n); if (p) memset(p, 1, n); return p; }
C
CC="cc -Wl,--wrap=malloc $dir/real/touch.c" $lab check heap --json >"$dir/real/failing.json" 2>/dev/null || [ $? -eq 1 ]
for ex in resident trim leakfix; do
  for program in "tests/exercises/$ex-right.c" "tests/exercises/$ex-wrong.c" "exercises/$ex/starter.c"; do
    $lab grade "$ex" "$program" --json >"$dir/real/grade-$ex-$(basename "$program")".json 2>/dev/null || [ $? -eq 1 ]
  done
done

largest=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)
python3 - "$dir" "$largest" "${DISTINCT:-}" <<'PY'
import glob, json, os, random, sys
d, n, distinct = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
rng = random.Random(19)
VARIED = ["kernel", "libc_version", "cpus", "thp", "stack"]
def template(doc, python):
    """The document as text, each varied fact a placeholder @name@."""
    names = VARIED + (["python_version"] if python else [])
    for facts in [doc["machine"]] + [r["facts"] for r in doc.get("runs", []) if "facts" in r]:
        for k in names:
            if k in facts:
                facts[k] = "@%s@" % k
    return json.dumps(doc, indent=1)
check = json.load(open(f"{d}/real/check.json"))
failing = json.load(open(f"{d}/real/failing.json"))
# The failing machine: the suite with its real heap (c) run in place.
bad_run = next(r for r in failing["runs"] if r["impl"] == "c")
failed = dict(check, passed=False, runs=[bad_run if (r["lab"], r["impl"]) == ("heap", "c") else r for r in check["runs"]])
checks = [template(json.loads(json.dumps(check)), True), template(failed, True)]
grades = [template(json.load(open(p)), False) for p in sorted(glob.glob(f"{d}/real/grade-*.json"))]
facts = {
    "kernel": ["6.1.0-18-amd64", "6.1.0-26-amd64", "6.8.0-45-generic", "6.12.12-amd64", "6.11.0-1014-azure"],
    "libc_version": ["2.31", "2.35", "2.36", "2.39", "2.41"],
    "cpus": ["1", "2", "2", "4", "4", "8", "16"],
    "thp": ["always", "madvise", "never"],
    "stack": ["8192 KiB", "8192 KiB", "unlimited"],
    "python_version": ["3.9", "3.10", "3.11", "3.12", "3.13"],
}
for i in range(n):
    if i % 3 == 2:
        text = rng.choice(grades)
        program = "students/s%06d/%s" % (i, json.loads(text)["file"].rsplit("/", 1)[-1])
        text = text.replace(json.dumps(json.loads(text)["file"]), json.dumps(program), 1)
    else:
        text = checks[1] if rng.random() < 0.2 else checks[0]
    if distinct:
        text = text.replace("@kernel@", "6.1.0-%d-amd64" % i)
    for k, values in facts.items():
        text = text.replace("@%s@" % k, rng.choice(values))
    with open(f"{d}/class/{i:06d}.json", "w") as f:
        f.write(text)
PY
echo "machine: $(nproc) CPUs, $(uname -sr); $(du -sh "$dir/class" | cut -f1) of documents, best of $runs"

# Best of $runs of `lab report FIRST-N-FILES ARGS`: "seconds cpu-seconds
# peak-KiB" (the CPU time, user and system, says more than the wall time on
# a machine others use too).
measure() {
  local n=$1 best_t="" best_c="" best_m=""
  shift
  for _ in $(seq 1 "$runs"); do
    # 100,000 names are more than the default 2 MiB of arguments: a larger
    # stack limit raises it (to a quarter of the limit, at most 6 MiB).
    (cd "$dir/class" && ulimit -s 65536 && files=(*.json) &&
      /usr/bin/time -v -o "$dir/time.txt" "$lab" report "${files[@]:0:$n}" "$@" >/dev/null) ||
      { echo "bench: lab report failed:" >&2; cat "$dir/time.txt" >&2; exit 1; }
    local t c m
    c=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { print s }' "$dir/time.txt")
    t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$dir/time.txt")
    m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time.txt")
    if [ -z "$best_t" ] || awk "BEGIN { exit !($t < $best_t) }"; then best_t=$t; fi
    if [ -z "$best_c" ] || awk "BEGIN { exit !($c < $best_c) }"; then best_c=$c; fi
    if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
  done
  echo "$best_t $best_c $best_m"
}

printf '%-16s %9s %8s %8s %14s %8s %12s\n' "lab report" documents seconds "CPU s" "CPU µs/doc" ratio "peak RSS"
for form in table "--json --html"; do
  base=""
  for n in $(printf '%s\n' "${sizes[@]}" | sort -n); do
    if [ "$form" = table ]; then
      read -r t c m < <(measure "$n")
    else
      read -r t c m < <(measure "$n" --json --html "$dir/class.html")
    fi
    per=$(awk "BEGIN { printf \"%.1f\", $c * 1e6 / $n }")
    [ -n "$base" ] || base=$per
    ratio=$(awk "BEGIN { printf \"%.2f\", ($base > 0 ? $per / $base : 0) }")
    printf '%-16s %9d %8.2f %8.2f %14s %8s %8d MiB\n' "$form" "$n" "$t" "$c" "$per" "$ratio" $((m / 1024))
  done
done
