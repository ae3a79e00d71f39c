#!/usr/bin/env bash
# The annotated outputs of labs whose output depends on machine facts are
# pinned per value of those facts (labs/threads/threads-c.stack-8192-KiB.cpus-1…,
# labs/zeropage/zeropage-c.thp-always.snap). `cargo test` compares only the
# ones for this machine's values; this script compares (or, with --record,
# records) the others that this machine can really be made to have:
#   cpus1       glibc sees 1 online CPU (a bind mount over
#               /sys/devices/system/cpu/online, in a mount namespace)
#   thp-always  transparent huge pages `always` (the knob is restored after)
#   thp-never   transparent huge pages `never`
#   thp-madvise transparent huge pages `madvise`
#   py-4k-pools a CPython before 3.10 (4 KiB pymalloc pools: pylist), when
#               pyenv has one (PYTHON_4K_POOLS=DIR/bin names another)
# so that a change to a lab or a demo cannot leave another machine's pinned
# output stale. Needs root (mounts, /sys knobs); without it, or without a
# writable knob, a variant says why it is skipped. .ci/run runs it.
#
#   scripts/pinned-variants.sh            # compare; exit 1 when one differs
#   scripts/pinned-variants.sh --record   # write them (read the diff before committing)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

record=0
[ "${1:-}" = "--record" ] && record=1

bin=$(cargo test --release --test integration --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    try: m=json.loads(l)
    except ValueError: continue
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="integration" and m.get("executable"):
        print(m["executable"])' | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "pinned-variants: could not build the integration tests (cargo test --release --no-run)" >&2
  exit 2
fi

export INSTA_UPDATE=no
if [ $record = 1 ]; then
  export INSTA_UPDATE=always PMAP_LAB_PIN=1
fi

thp=/sys/kernel/mm/transparent_hugepage/enabled
saved_thp=""
restore() { [ -n "$saved_thp" ] && echo "$saved_thp" >"$thp"; }
trap restore EXIT INT TERM HUP

failed=0
run() { # NAME COMMAND...
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    echo "$name: $(grep -E '^test result' <<<"$out" | tail -1)"
  else
    failed=1
    echo "$name: FAILED"
    grep -E -A8 '^\s+[0-9]* *[0-9]* *│[-+]|panicked|^test .*FAILED' <<<"$out" | head -60
  fi
}

if [ "$(id -u)" != 0 ]; then
  echo "skipped: every variant (needs root for mounts and /sys knobs)"
  exit 0
fi

cpus1=$(mktemp)
echo 0 >"$cpus1"
if unshare -m true 2>/dev/null; then
  run cpus1 unshare -m sh -c "mount --bind '$cpus1' /sys/devices/system/cpu/online && exec '$bin' snapshots::"
else
  echo "cpus1: skipped (no mount namespace here)"
fi
rm -f "$cpus1"

if [ -w "$thp" ]; then
  saved_thp=$(sed -E 's/.*\[([a-z]+)\].*/\1/' "$thp")
  for mode in always never madvise; do
    if echo "$mode" >"$thp" 2>/dev/null; then
      # One test covers every lab; PMAP_LAB_SNAPSHOT_LABS narrows it to one.
      run "thp-$mode" env PMAP_LAB_SNAPSHOT_LABS=zeropage "$bin" snapshots::
    else
      echo "thp-$mode: skipped ($thp refused $mode)"
    fi
  done
  restore
  saved_thp=""
else
  echo "thp-*: skipped ($thp is not writable here)"
fi
# pylist's Python output is pinned per pymalloc pool size: a CPython before
# 3.10 first on PATH makes the 4 KiB one.
py4k=${PYTHON_4K_POOLS:-}
if [ -z "$py4k" ]; then
  for v in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.[6-9].*; do
    [ -x "$v/bin/python3" ] && py4k=$v/bin
  done
fi
if [ -n "$py4k" ] && [ -x "$py4k/python3" ]; then
  run py-4k-pools env PATH="$py4k:$PATH" PMAP_LAB_SNAPSHOT_LABS=pylist "$bin" snapshots::
else
  echo "py-4k-pools: skipped (no CPython before 3.10: PYTHON_4K_POOLS=DIR/bin names one)"
fi
exit $failed
