#!/usr/bin/env bash
# scripts/matrix.sh: the portability matrix of pmap lab.
#
# A lab is only worth teaching if its checks hold on the machines students and
# instructors have, not only on the one that recorded the snapshots. This
# script builds the workspace once, then runs `lab check` (and, where the leg
# can, the integration test binary) under a set of machine variations ("legs")
# and prints one Markdown table: leg | what differs | `lab check` | integration
# tests | seconds, followed by every failed check (lab, implementation, step,
# check id, expected, observed), every check that did not apply (n/a) with the
# fact that ruled it out, and the path of each failing leg's log.
#
#   scripts/matrix.sh                 # every leg; those impossible here say why
#   scripts/matrix.sh host debian13   # only these legs
#   scripts/matrix.sh --list          # the leg names
#
# Legs: host; debian13 (a debootstrap trixie userland, the binaries built here
# run inside it); kernel-6.1 and kernel-6.12 (Debian's cloud kernels booted
# under qemu/TCG with a Debian 12/13 initramfs); kernel-newest (Debian
# unstable's newest cloud kernel) and kernel-5.10 (Debian 11's), both with a
# Debian 12 initramfs; overcommit-strict (vm.overcommit_memory=2 in the 6.12
# VM); vm-256m (a 256 MiB VM, its root on an ext4 disk); arm64-4k and
# arm64-16k (Debian 13's arm64 kernels with 4 KiB and 16 KiB pages under
# qemu-system-aarch64, an arm64 debootstrap initramfs, an aarch64 lab from
# target/dist or MATRIX_LAB_AARCH64); cpus1 (1 online CPU as glibc
# counts it); stack-256/-1001/-4096/-unlimited (ulimit -s); glibc allocator
# environments; LD_PRELOADed jemalloc, mimalloc, tcmalloc; transparent huge
# page modes (global and per size; restored afterwards); C compilers (clang,
# musl-gcc, -O2); Python interpreters (pypy3, python3-dbg, every pyenv
# CPython 3); the lab cache on tmpfs; a read-only default cache with
# PMAP_LAB_CACHE_DIR elsewhere; memory cgroup limits of 300 MiB and 64 MiB;
# a non-root user.
#
# Most legs need root (mounts, /sys knobs, cgroups, useradd, debootstrap).
# Heavy things (debootstrap folders, kernels, initramfs images) and the logs
# live in ${MATRIX_CACHE:-<repo>/target/matrix}; a cold debian13 leg spends
# about 2 minutes in debootstrap, later ones reuse the folder.
# Environment: MATRIX_CACHE (that directory), CARGO_TARGET_DIR (where cargo
# builds), MATRIX_QEMU_TIMEOUT (seconds, default 1200), MATRIX_NO_BUILD=1
# (use the binaries already built), MATRIX_LAB_AARCH64 (an aarch64 lab when
# target/dist has no release archive).
# Exit status: 0 when every leg that ran passed, 1 when one failed, 2 for a
# usage error or a failed build.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${MATRIX_CACHE:-$repo/target/matrix}
target=${CARGO_TARGET_DIR:-$repo/target}
lab=$target/release/lab
qemu_timeout=${MATRIX_QEMU_TIMEOUT:-1200}
PY=$(command -v /usr/bin/python3 || command -v python3 || true)

# ---------------------------------------------------------------- cleanup --
# Every mount, knob, cgroup and user a leg changes is undone by a command
# pushed here; legs undo their own at their end, the EXIT trap whatever is
# left (a failure, Ctrl-C).
undo=()
defer() { undo+=("$1"); }
undo_to() { # undo_to N: run the pushed commands above N, newest first
  local i
  for ((i = ${#undo[@]} - 1; i >= $1; i--)); do eval "${undo[i]}" || true; done
  undo=("${undo[@]:0:$1}")
}
trap 'undo_to 0' EXIT
trap 'exit 130' INT TERM

is_root() { [ "$(id -u)" -eq 0 ]; }

# ------------------------------------------------------------------- legs --
pyenv_pythons() { # "NAME PATH" for each pyenv version
  local root
  root=$( (command -v pyenv >/dev/null && pyenv root) 2>/dev/null || echo "$HOME/.pyenv")
  [ -d "$root/versions" ] || return 0
  local d
  for d in "$root"/versions/*/; do
    d=${d%/}
    echo "pyenv-${d##*/} $d"
  done | sort -V
}

all_legs() {
  echo host debian13 debian11 debian11-archive debian-unstable podman podman-rootless \
    kernel-6.1 kernel-6.12 kernel-newest kernel-5.10 overcommit-strict vm-256m \
    arm64-4k arm64-16k cpus1 stack-256 stack-1001 stack-4096 stack-unlimited \
    arena-max-2 tunable-arena-max-1 tunable-hugetlb-1 tunable-stack-cache-0 perturb-165 \
    jemalloc mimalloc tcmalloc thp-always thp-madvise thp-never thp-2m-never thp-64k-always \
    cc-clang cc-musl cc-gcc-O2 cc-clang-O2 py-pypy3 py-dbg
  pyenv_pythons | cut -d' ' -f1
  echo cache-tmpfs cache-readonly cgroup-300m cgroup-64m nonroot
}

# -------------------------------------------------------------- reporting --
# Per leg: R_check (the `lab check` cell), R_tests (integration tests cell),
# R_facts (what differs), R_status (pass, fail, skipped), R_details (failed
# checks), R_logs (paths).
rows=()
details=()
any_fail=0

summarise_json() { # FILE EXIT [BASELINE] -> line 1: the cell; line 2: the
  # machine facts (lab's "machine" object, when it has one) that differ from
  # BASELINE's; other lines: failed checks, then n/a checks with their reason
  "$PY" - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, rc, baseline = sys.argv[1], sys.argv[2], sys.argv[3]

def load(p):
    text = open(p, encoding="utf-8", errors="replace").read()
    return json.loads(text[text.index("{"):text.rindex("}") + 1])

try:
    doc = load(path)
except Exception:
    print(f"no JSON (exit {rc})")
    print()
    sys.exit(0)
try:
    base = (load(baseline).get("machine") or {}) if baseline else {}
except Exception:
    base = {}

def na_count(node):
    """Checks whose status is n/a, wherever the JSON lists them."""
    n = 0
    if isinstance(node, dict):
        if node.get("status") == "n/a" and "id" in node:
            n += 1
        for v in node.values():
            n += na_count(v)
    elif isinstance(node, list):
        for v in node:
            n += na_count(v)
    return n

def run_na(run):
    counted = [run.get(k) for k in ("checks_na", "checks_not_applicable", "na")
               if isinstance(run.get(k), int)]
    return max(counted + [na_count(run)])

def fmt_check(c, step):
    status = c.get("status") or ("pass" if c.get("passed") else "fail")
    return (f"step {step} `{c.get('id')}` [{status}]: expected {c.get('expected')}; "
            f"observed {c.get('observed')}"
            + (f" ({c['reason']})" if c.get("reason") else ""))

lines, counts, na = [], {}, 0
na_groups = {}   # reason -> {run name: [ids]}

def add_na(name, c):
    reason = c.get("not_applicable") or c.get("reason") or "no reason given"
    na_groups.setdefault(reason, {}).setdefault(name, []).append(str(c.get("id")))

if "runs" in doc:                                  # lab check --json
    runs = doc["runs"]
    for r in runs:
        res = r.get("result") or ("pass" if r.get("passed") else "fail")
        counts[res] = counts.get(res, 0) + 1
        na += run_na(r)
        name = f"{r.get('lab')} ({r.get('impl')})"
        if res not in ("pass", "skipped"):
            if r.get("message"):
                lines.append((name, f"{res}: {r['message']}"))
            for f in r.get("failed_checks", []):
                c = f.get("check", f)
                lines.append((name, fmt_check(c, f.get("step", "?"))))
        for f in r.get("not_applicable_checks", []):
            add_na(name, f.get("check", f))
    total = len(runs)
else:                                              # one lab run's --json
    total, res = 1, ("pass" if doc.get("passed") else "fail")
    counts[res] = 1
    na = na_count(doc)
    name = f"{doc.get('lab')} ({doc.get('impl')})"
    for s in doc.get("steps", []):
        for c in s.get("checks", []):
            st = c.get("status") or ("pass" if c.get("passed") else "fail")
            if st == "fail":
                lines.append((name, fmt_check(c, s.get("index", "?"))))
            elif st == "n/a":
                add_na(name, c)
order = ["pass", "fail", "error", "skipped"]
parts = [f"{counts[k]} {k}" for k in order if k in counts]
parts += [f"{v} {k}" for k, v in counts.items() if k not in order]
cell = f"{total} run{'s' if total != 1 else ''}: " + ", ".join(parts)
if na:
    cell += f"; {na} checks n/a"
print(cell)
machine = doc.get("machine") or {}
# facts that differ from run to run on one machine say nothing about the leg
volatile = {"memory_available", "commit_available"}
print(", ".join(f"{k} {v}" for k, v in machine.items()
                if base.get(k) != v and k not in volatile) if base else "")
# one line per distinct failure; the runs that share it listed in front
groups = {}
for name, what in lines:
    groups.setdefault(what, []).append(name)
for what, names in groups.items():
    print(", ".join(names) + " " + what)
for reason, runs_ids in na_groups.items():
    ids = sorted({i for v in runs_ids.values() for i in v})
    print(f"n/a ({reason}): " + ", ".join(runs_ids) + f": {len(ids)} distinct checks: "
          + ", ".join(ids))
EOF
}

# check_result LEG JSON EXIT LOG: fill R_check/R_status/R_details from a run
check_result() {
  local leg=$1 json=$2 rc=$3 log=$4 out
  out=$(summarise_json "$json" "$rc" "$baseline")
  R_check=$(sed -n 1p <<<"$out")
  local facts rest
  facts=$(sed -n 2p <<<"$out")
  rest=$(tail -n +3 <<<"$out")
  [ -n "$facts" ] && [ "$leg" != host ] && R_facts+="; lab's facts: $facts"
  if [ "$rc" -eq 0 ] && [[ $R_check != no\ JSON* ]]; then
    R_status=pass
    R_check="pass: $R_check"
  else
    R_status=fail
    R_check="FAIL: $R_check"
    R_logs+=" $log"
    [ -s "$json" ] && R_logs+=" $json"
    if [[ $R_check == *"no JSON"* ]]; then
      rest+=$'\n'"last lines of the log:"$'\n'"$(tail -5 "$log" 2>/dev/null | sed 's/^/    /')"
    fi
  fi
  [ -n "$rest" ] && R_details+="$rest"$'\n'
}

# tests_result LOG EXIT: the integration tests cell
tests_result() {
  local log=$1 rc=$2 line failed
  line=$(grep -E '^test result:' "$log" | tail -1)
  failed=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' | tr '\n' ' ')
  if [ -z "$line" ]; then
    R_tests="FAIL: no result (exit $rc)"
    R_status=fail
    R_logs+=" $log"
    return
  fi
  local p f i
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | cut -d' ' -f1)
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | cut -d' ' -f1)
  i=$(grep -oE '[0-9]+ ignored' <<<"$line" | cut -d' ' -f1)
  if [ "$rc" -eq 0 ]; then
    R_tests="pass: $p passed, $i ignored"
  else
    R_tests="FAIL: $p passed, $f failed"
    R_status=fail
    R_logs+=" $log"
    R_details+="integration tests failed: $failed"$'\n'
    # per failing test: the snapshot file and its changed lines, or where it
    # panicked and the message
    R_details+=$(awk '
      /^---- .* stdout ----$/ { name = $2; n = 0; p = 0; next }
      /^failures:$/ { name = "" }
      name == "" { next }
      /^Snapshot file:/ { print "  " name ": " $0; next }
      /│[-+]/ && n < 8 { print "  " name ":     " $0; n++; next }
      /stack backtrace:|^note: / { p = 0; next }
      /panicked at/ { print "  " name ": " substr($0, index($0, "panicked at")); p = 8; next }
      p > 0 && NF { print "  " name ":     " substr($0, 1, 240); p--; next }' "$log")$'\n'
  fi
}

# ----------------------------------------------------------- lab runners --
keep_alloc=""
baseline=""
lab_env() { # the environment every lab run gets: its own cache directory
  local dir=$1
  mkdir -p "$dir"
  echo "XDG_CACHE_HOME=$dir PMAP_LAB_CACHE_DIR=$dir/pmap-lab"
}

# run_lab LEG [PREFIX...] --lab [LAB ARGS...]: run `lab check --json` (or the
# given lab command) under a prefix command (env, unshare, runuser...)
run_lab() {
  local leg=$1
  shift
  local prefix=()
  while [ $# -gt 0 ] && [ "$1" != --lab ]; do prefix+=("$1"); shift; done
  shift
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(check --json)
  local json=$logs/$leg.json log=$logs/$leg.log rc
  "${prefix[@]}" "$lab" "${args[@]}" >"$json" 2>"$log" </dev/null
  rc=$?
  check_result "$leg" "$json" "$rc" "$log"
}

run_tests_host() { # LEG [PREFIX...]: the integration test binary
  local leg=$1
  shift
  local log=$logs/$leg.tests.log rc
  (cd "$repo" && env -u CI "$@" timeout 1800 "$integration" >"$log" 2>&1 </dev/null)
  rc=$?
  tests_result "$log" "$rc"
}

skip() { R_status=skipped; R_check="skipped: $1"; }

# ------------------------------------------------------- the legs' bodies --
leg_host() {
  R_facts="this machine: kernel $(uname -r), $(getconf GNU_LIBC_VERSION), gcc $(gcc -dumpfullversion 2>/dev/null), $(python3 -V 2>&1), procps $(pmap -V 2>&1 | grep -oE "[0-9]+(\.[0-9]+)+" | head -1), THP $(thp_get "$thp/enabled"), $(nproc) CPUs, ulimit -s $(ulimit -s)"
  run_lab host env $(lab_env "$cache/labcache/host") --lab
  run_tests_host host
}

with_env() { # LEG FACTS VAR=VALUE...: lab check under an allocator environment
  local leg=$1
  R_facts=$2
  shift 2
  local flags=(check --json)
  [ -n "$keep_alloc" ] && flags+=(--keep-alloc-env) && R_facts+=" (with --keep-alloc-env)"
  run_lab "$leg" env $(lab_env "$cache/labcache/$leg") "$@" --lab "${flags[@]}"
}

leg_preload() { # LEG SONAME PACKAGE: an allocator LD_PRELOADed
  local so
  so=$(ldconfig -p 2>/dev/null | awk -v n="$2" '$1 == n {print $NF; exit}')
  [ -n "$so" ] || { skip "no $2 (apt-get install $3)"; return; }
  local version
  version=$(dpkg-query -W -f '${Version}' "$3" 2>/dev/null)
  with_env "$1" "LD_PRELOAD=$so${version:+ ($3 $version)}" LD_PRELOAD="$so"
}

leg_cache_readonly() { # the default cache location read-only, PMAP_LAB_CACHE_DIR elsewhere
  is_root || { skip "not root (mounts a read-only bind)"; return; }
  local ro=$cache/readonly-cache rw=$cache/labcache/cache-readonly
  mkdir -p "$ro" "$rw"
  mount --bind "$ro" "$ro" && defer "umount '$ro'" &&
    mount -o remount,bind,ro "$ro" || { skip "could not make a read-only bind mount"; return; }
  R_facts="HOME and XDG_CACHE_HOME on a read-only bind mount; PMAP_LAB_CACHE_DIR names a writable directory"
  run_lab cache-readonly env HOME="$ro" XDG_CACHE_HOME="$ro" PMAP_LAB_CACHE_DIR="$rw" --lab
}

leg_stack() { # LEG VALUE
  R_facts="ulimit -s $2"
  local dir
  dir=$(lab_env "$cache/labcache/$1")
  run_lab "$1" bash -c "ulimit -s $2 && exec env $dir \"\$@\"" _ --lab
}

leg_cpus1() {
  is_root || { skip "not root (needs a mount namespace)"; return; }
  command -v unshare >/dev/null || { skip "no unshare (util-linux)"; return; }
  local f=$cache/cpus1-online
  echo 0 >"$f"
  R_facts="glibc sees 1 online CPU (/sys/devices/system/cpu/online = 0, bind-mounted in a mount namespace)"
  local dir
  dir=$(lab_env "$cache/labcache/cpus1")
  run_lab cpus1 unshare -m sh -c "mount --bind '$f' /sys/devices/system/cpu/online && exec env $dir \"\$@\"" _ --lab
}

thp=/sys/kernel/mm/transparent_hugepage
thp_get() { sed -E 's/.*\[([a-z]+)\].*/\1/' "$1" 2>/dev/null || echo unknown; }
thp_set() { # FILE VALUE: set a knob, restore it at the leg's end
  local old
  old=$(thp_get "$1")
  defer "echo $old > '$1'"
  echo "$2" >"$1"
}
leg_thp() { # LEG FACTS FILE=VALUE...
  local leg=$1 facts=$2
  shift 2
  [ -d "$thp" ] || { skip "no $thp (kernel without THP)"; return; }
  local kv file
  for kv in "$@"; do
    file=${kv%=*}
    [ -e "$thp/$file" ] || { skip "no $thp/$file on this kernel"; return; }
    [ -w "$thp/$file" ] && is_root || { skip "$thp/$file is not writable here"; return; }
  done
  for kv in "$@"; do
    thp_set "$thp/${kv%=*}" "${kv#*=}" || { skip "could not write ${kv%=*}"; return; }
  done
  R_facts=$facts
  run_lab "$leg" env $(lab_env "$cache/labcache/$leg") --lab
}

leg_cc() { # LEG CC
  local leg=$1 cc=$2 bin=${2%% *}
  command -v "$bin" >/dev/null || {
    case $bin in
      clang) skip "no clang (apt-get install clang)" ;;
      musl-gcc) skip "no musl-gcc (apt-get install musl-tools)" ;;
      *) skip "no $bin" ;;
    esac
    return
  }
  local version
  case $bin in
    musl-gcc) version="musl $(dpkg-query -W -f '${Version}' musl 2>/dev/null), $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /')" ;;
    *) version=$("$bin" --version 2>/dev/null | head -1) ;;
  esac
  R_facts="CC=\"$cc\" ($version)"
  run_lab "$leg" env $(lab_env "$cache/labcache/$leg") CC="$cc" --lab
}

leg_python() { # LEG PYTHON
  local leg=$1 py=$2 version
  [ -x "$py" ] || { skip "no $py"; return; }
  version=$("$py" -c 'import sys, platform; print(platform.python_implementation(), platform.python_version(), "debug build" if hasattr(sys, "gettotalrefcount") else "")' 2>/dev/null)
  if [ -z "$version" ] || [[ $version != *" 3."* ]]; then
    skip "$py is not a Python 3 ($("$py" -V 2>&1 | head -1))"
    return
  fi
  version=${version% }
  R_facts="$version ($py)"
  run_lab "$leg" env $(lab_env "$cache/labcache/$leg") --lab pylist --impl python --python "$py" --no-pause --json
}

leg_pyenv() {
  local leg=$1 dir py
  dir=$(pyenv_pythons | awk -v l="$leg" '$1 == l {print $2}')
  [ -n "$dir" ] || { skip "no such pyenv version"; return; }
  py=$dir/bin/python3
  if [ ! -x "$py" ]; then
    skip "$dir has no bin/python3 ($("$dir/bin/python" -V 2>&1 | head -1) is not a Python 3)"
    return
  fi
  leg_python "$leg" "$py"
}

leg_cache_tmpfs() {
  is_root || { skip "not root (mounts a tmpfs)"; return; }
  local mnt=$cache/tmpfs-cache
  mkdir -p "$mnt"
  mount -t tmpfs -o size=1g,mode=755 matrix-tmpfs "$mnt" || { skip "could not mount a tmpfs"; return; }
  defer "umount '$mnt'"
  R_facts="the lab cache directory on tmpfs (XDG_CACHE_HOME and PMAP_LAB_CACHE_DIR under a tmpfs)"
  run_lab cache-tmpfs env $(lab_env "$mnt") --lab
}

leg_cgroup() { # LEG LIMIT: lab check inside a memory cgroup limited to LIMIT
  local leg=$1 limit=$2 cg
  is_root || { skip "not root (creates a cgroup)"; return; }
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then # v2
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      { skip "cgroup v2 without the memory controller delegated"; return; }
    cg=/sys/fs/cgroup/pmap-matrix-$leg
    mkdir -p "$cg" && defer "rmdir '$cg'"
    echo "$limit" >"$cg/memory.max" || { skip "could not set memory.max"; return; }
    R_facts="memory cgroup v2, memory.max = $limit"
  elif [ -d /sys/fs/cgroup/memory ]; then # v1
    cg=/sys/fs/cgroup/memory/pmap-matrix-$leg
    mkdir -p "$cg" && defer "rmdir '$cg'"
    echo "$limit" >"$cg/memory.limit_in_bytes" || { skip "could not set memory.limit_in_bytes"; return; }
    R_facts="memory cgroup v1, memory.limit_in_bytes = $limit"
  else
    skip "no memory cgroup controller mounted"
    return
  fi
  local dir
  dir=$(lab_env "$cache/labcache/$leg")
  run_lab "$leg" sh -c "echo \$\$ > '$cg/cgroup.procs' && exec env $dir \"\$@\"" _ --lab
}

leg_nonroot() {
  is_root || { R_facts="already not root: $(id -un)"; run_lab nonroot env $(lab_env "$cache/labcache/nonroot") --lab; return; }
  local user=pmap-matrix home=$cache/nonroot-home
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$user" ||
      { skip "useradd failed"; return; }
    defer "userdel '$user'"
  fi
  mkdir -p "$home" && chown "$user:" "$home"
  # the user must be able to reach the binary
  if ! runuser -u "$user" -- test -x "$lab"; then
    skip "$user cannot execute $lab (directory permissions)"
    return
  fi
  R_facts="user $user (uid $(id -u "$user")), no capabilities, its own HOME"
  run_lab nonroot runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
    XDG_CACHE_HOME="$home/.cache" PMAP_LAB_CACHE_DIR="$home/.cache/pmap-lab" --lab
}

# ------------------------------------------------------ debootstrap roots --
# NAME -> $cache/NAME, created on demand; NAME is a suite (trixie) or a
# suite and a foreign architecture (trixie-arm64: debootstrap --arch=arm64,
# run through qemu-user-static's binfmt handler, with kmod for modprobe).
# R_note says whether it was cold.
ensure_rootfs() {
  local name=$1 root=$cache/$1 suite=${1%%-*} arch="" extra=""
  [ "$name" != "$suite" ] && arch=${name#*-} extra=",kmod"
  if [ -x "$root/usr/bin/python3" ] && [ -x "$root/usr/bin/gcc" ] && [ -x "$root/usr/bin/pmap" ]; then
    return 0
  fi
  is_root || { skip "not root (debootstrap, chroot)"; return 1; }
  command -v debootstrap >/dev/null || { skip "no debootstrap (apt-get install debootstrap)"; return 1; }
  if [ -n "$arch" ] && ! foreign_ok "$arch"; then
    skip "no binfmt handler for $arch binaries (apt-get install qemu-user-static binfmt-support; update-binfmts --enable qemu-$(qemu_arch "$arch"))"
    return 1
  fi
  local t0=$SECONDS log=$logs/debootstrap-$name.log
  echo "  debootstrap $name into $root (2 to 10 minutes; log $log)" >&2
  rm -rf "$root.tmp"
  if ! debootstrap ${arch:+--arch=$arch} --variant=minbase --include=python3,gcc,libc6-dev,procps$extra \
    "$suite" "$root.tmp" >"$log" 2>&1; then
    skip "debootstrap $name failed (see $log)"
    R_logs+=" $log"
    return 1
  fi
  rm -rf "$root" && mv "$root.tmp" "$root"
  R_note="cold: debootstrap took $((SECONDS - t0)) s"
  return 0
}

qemu_arch() { case $1 in arm64) echo aarch64 ;; amd64) echo x86_64 ;; *) echo "$1" ;; esac; }
foreign_ok() { # ARCH: can this machine run ARCH's binaries (natively or by binfmt)?
  [ "$(qemu_arch "$1")" = "$(uname -m)" ] && return 0
  grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$(qemu_arch "$1")" 2>/dev/null
}

# the facts of a Debian userland, run inside it (sh)
userland_facts='echo "glibc $(getconf GNU_LIBC_VERSION | cut -d" " -f2), gcc $(gcc -dumpfullversion), $(python3 -V 2>&1), procps $(pmap -V 2>&1 | grep -oE "[0-9]+(\.[0-9]+)+" | head -1)"'

# mount_in ROOT SOURCE DEST ARGS...: mount SOURCE at ROOT/DEST, unmounted at
# the leg's end (also on failure or Ctrl-C)
mount_in() {
  local dest=$1$3
  mkdir -p "$dest"
  mount "${@:4}" "$2" "$dest" || return 1
  defer "umount '$dest' || umount -l '$dest'"
}

# mount_userland ROOT: proc, /dev, /dev/pts and sys in a debootstrap folder,
# and the checkout, the target dir and the matrix cache at their own paths
mount_userland() {
  local root=$1 d
  # The root a mount point of its own: inside, `unshare --mount-proc` (the
  # tests' PID namespaces) changes the propagation of /, which a folder
  # that is not a mount point refuses.
  mount_in "$root" "$root" "" --bind &&
    mount_in "$root" proc /proc -t proc &&
    mount_in "$root" /dev /dev --bind &&
    mount_in "$root" /dev/pts /dev/pts --bind &&
    { mount_in "$root" sys /sys -t sysfs || mount_in "$root" /sys /sys --bind; } &&
    mount_in "$root" "$repo" "$repo" --bind || return 1
  for d in "$target" "$cache"; do
    case $d in
      "$repo" | "$repo"/*) ;;
      *) mount_in "$root" "$d" "$d" --bind || return 1 ;;
    esac
  done
}

# the environment of a run inside a userland: nothing of this shell's
# (the cache where root's is by default, out of /var/tmp: where a demo may
# write, lab builds C demos afresh each run, also under the tests' ulimit -v)
chroot_env="PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 INSTA_UPDATE=no XDG_CACHE_HOME=/root/.cache PMAP_LAB_CACHE_DIR=/root/.cache/pmap-lab"

# userland_run LEG ROOT [TEST ARGS...]: `lab check --json` ($lab) and the
# integration test binary ($integration, with TEST ARGS) inside ROOT, which
# mount_userland prepared
userland_run() {
  local leg=$1 root=$2
  shift 2
  run_lab "$leg" chroot "$root" env -i $chroot_env --lab
  if [ -z "$integration" ]; then
    R_tests="not run (no integration test binary)"
    return
  fi
  local log=$logs/$leg.tests.log rc
  chroot "$root" env -i $chroot_env sh -c 'cd "$1" && shift && exec timeout 1800 "$@"' _ "$repo" "$integration" "$@" >"$log" 2>&1 </dev/null
  rc=$?
  tests_result "$log" "$rc"
}

# leg_userland LEG SUITE TITLE: the binaries built here, run in a Debian
# userland (debian13, debian-unstable)
leg_userland() {
  local leg=$1 suite=$2 title=$3
  is_root || { skip "not root (debootstrap, chroot, mounts)"; return; }
  R_note=""
  ensure_rootfs "$suite" || return
  local root=$cache/$suite
  mount_userland "$root" || { skip "mounting into $root failed"; return; }
  R_facts="$title (debootstrap $suite, chroot): $(chroot "$root" sh -c "$userland_facts" 2>&1)"
  [ -n "$R_note" ] && R_facts+="; $R_note"
  userland_run "$leg" "$root"
}

leg_debian13() { leg_userland debian13 trixie "Debian 13 userland"; }
leg_debian_unstable() { leg_userland debian-unstable sid "Debian unstable userland"; }

# ensure_vendor: the crates of Cargo.lock in $cache/vendor (cargo vendor, run
# here: a chroot has not this machine's certificate setup) and a cargo config
# naming them; vendored again when Cargo.lock changes
ensure_vendor() {
  local v=$cache/vendor
  if ! cmp -s "$repo/Cargo.lock" "$v/.matrix-Cargo.lock" 2>/dev/null; then
    command -v cargo >/dev/null || return 1
    rm -rf "$v.tmp"
    (cd "$repo" && cargo vendor --quiet --locked --versioned-dirs "$v.tmp") >"$logs/vendor.log" 2>&1 || return 1
    rm -rf "$v" && mv "$v.tmp" "$v" && cp "$repo/Cargo.lock" "$v/.matrix-Cargo.lock"
  fi
  cat >"$cache/vendor-config.toml" <<EOF
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$v"

[net]
offline = true
EOF
}

# leg_debian11: a Debian 11 userland (glibc 2.31) with the project built
# there: binaries built on a newer glibc need its newer symbol versions
# (GLIBC_2.34 for Debian 12's), so this machine's are no use. This machine's
# Rust toolchain is bind-mounted read-only, the crates vendored here.
leg_debian11() {
  is_root || { skip "not root (debootstrap, chroot, mounts)"; return; }
  command -v rustc >/dev/null && command -v cargo >/dev/null || { skip "no rustc/cargo here (the chroot builds with this machine's toolchain)"; return; }
  R_note=""
  ensure_rootfs bullseye || return
  local root=$cache/bullseye sysroot notes=()
  [ -n "$R_note" ] && notes+=("$R_note")
  sysroot=$(cd "$repo" && rustc --print sysroot) && [ -x "$sysroot/bin/cargo" ] ||
    { skip "no cargo in rustc's sysroot ($sysroot): bind-mounting needs a rustup toolchain"; return; }
  case $sysroot in
    /usr | /usr/local) skip "rustc here is the distribution's ($sysroot/bin/rustc, linked against this glibc); the leg bind-mounts a rustup toolchain (https://rustup.rs)"; return ;;
  esac
  local t0=$SECONDS
  ensure_vendor || { skip "cargo vendor failed (see $logs/vendor.log)"; R_logs+=" $logs/vendor.log"; return; }
  mount_userland "$root" || { skip "mounting into $root failed"; return; }
  mount_in "$root" "$sysroot" /opt/matrix-rust --bind && mount -o remount,bind,ro "$root/opt/matrix-rust" ||
    { skip "bind-mounting the toolchain $sysroot failed"; return; }
  local build=$cache/build-debian11
  mkdir -p "$build/cargo-home"
  local benv="PATH=/opt/matrix-rust/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 CARGO_HOME=$build/cargo-home CARGO_TARGET_DIR=$build/target"
  local blog=$logs/debian11.build.log
  # `cargo build --release` (what a student runs), then the integration
  # test binary; the second build reuses the first's crates (the workspace
  # names the features dev-dependencies would add)
  local bt0=$SECONDS
  # shellcheck disable=SC2016 # the inner shell's $1 and $@
  if ! chroot "$root" env -i $benv sh -c 'cd "$1" && shift && exec nice "$@"' _ "$repo" \
    cargo build --config "$cache/vendor-config.toml" --locked --release >"$blog" 2>&1 </dev/null; then
    R_check="FAIL: cargo build --release in the Debian 11 userland failed"
    R_status=fail
    R_logs+=" $blog"
    R_details+="last lines of the build log:"$'\n'"$(tail -8 "$blog" | sed 's/^/    /')"$'\n'
    return
  fi
  notes+=("cargo build --release $((SECONDS - bt0)) s")
  bt0=$SECONDS
  local built_lab tests_built=1
  built_lab=$(stat -c %Y.%s "$build/target/release/lab" 2>/dev/null)
  # shellcheck disable=SC2016
  if ! chroot "$root" env -i $benv sh -c 'cd "$1" && shift && exec nice "$@"' _ "$repo" \
    cargo test --config "$cache/vendor-config.toml" --locked --release --test integration --no-run \
    --message-format=json >"$logs/debian11.build-tests.json" 2>>"$blog" </dev/null; then
    tests_built=""
  fi
  notes+=("the tests' build $((SECONDS - bt0)) s")
  [ "$(stat -c %Y.%s "$build/target/release/lab" 2>/dev/null)" = "$built_lab" ] ||
    notes+=("cargo test rebuilt target/release/lab")
  notes+=("vendoring and building $((SECONDS - t0)) s in all, with $("$sysroot/bin/rustc" -V | cut -d' ' -f1,2)")
  local lab=$build/target/release/lab integration
  integration=$(grep -h '"name":"integration"' "$logs/debian11.build-tests.json" |
    grep -oE '"executable":"[^"]+"' | tail -1 | cut -d'"' -f4)
  R_facts="Debian 11 userland (debootstrap bullseye, chroot), the project built there: $(chroot "$root" sh -c "$userland_facts" 2>&1)"
  R_facts+="; $(IFS=';'; echo "${notes[*]}" | sed 's/;/; /g')"
  [ -n "$tests_built" ] || integration=""
  # One comparison left out, said in the table: procps 3.3.17's pmap and lab
  # read a Python whose libc-2.31.so both map, and the Pss of those shared
  # pages differs by reader on every try there (235 against 255 KiB; not
  # worked out). lab pmap's output is compared byte for byte with 3.3.17 on
  # processes that share no library with either tool by
  # pmap::every_format_matches_the_procps_of_each_root (docs/pmap.md).
  R_facts+="; integration test pmap::every_format_matches_procps_on_an_interpreter skipped (libc Pss shared with the reader differs under procps 3.3.17)"
  userland_run debian11 "$root" --skip pmap::every_format_matches_procps_on_an_interpreter
  if [ -z "$tests_built" ]; then
    R_tests="FAIL: building the integration tests in the Debian 11 userland failed"
    R_status=fail
    R_logs+=" $blog"
  fi
}

# leg_debian11_archive: the release archive (scripts/release.sh) unpacked and
# its lab run in the Debian 11 userland, the oldest glibc it promises
leg_debian11_archive() {
  is_root || { skip "not root (debootstrap, chroot, mounts)"; return; }
  local a
  # shellcheck disable=SC2086 # the pattern is meant to expand
  a=$(ls -t ${MATRIX_ARCHIVE:-$repo/target/dist/lab-*-x86_64-linux-gnu.tar.gz} 2>/dev/null | head -1)
  [ -n "$a" ] || { skip "no release archive (${MATRIX_ARCHIVE:-target/dist/lab-*-x86_64-linux-gnu.tar.gz}: scripts/release.sh makes it; MATRIX_ARCHIVE names another)"; return; }
  local sum="no checksum file beside it" d
  d=$(dirname "$a")
  if [ -f "$a.sha256" ]; then
    (cd "$d" && sha256sum -c --status "$(basename "$a").sha256") && sum="sha256 verified" ||
      { R_check="FAIL: $a does not match $a.sha256"; R_status=fail; return; }
  elif [ -f "$d/SHA256SUMS" ] && grep -q " \*\{0,1\}$(basename "$a")\$" "$d/SHA256SUMS"; then
    (cd "$d" && grep " \*\{0,1\}$(basename "$a")\$" SHA256SUMS | sha256sum -c --status) && sum="sha256 verified (SHA256SUMS)" ||
      { R_check="FAIL: $a does not match $d/SHA256SUMS"; R_status=fail; return; }
  fi
  R_note=""
  ensure_rootfs bullseye || return
  local root=$cache/bullseye x=$cache/archive-debian11
  rm -rf "$x" && mkdir -p "$x" && tar -C "$x" -xzf "$a" || { R_check="FAIL: could not unpack $a"; R_status=fail; return; }
  local lab
  lab=$(find "$x" -type f -name lab -perm -u+x | head -1)
  [ -n "$lab" ] || { R_check="FAIL: no executable lab in $a"; R_status=fail; return; }
  mount_userland "$root" || { skip "mounting into $root failed"; return; }
  R_facts="the release archive $(basename "$a") ($sum), unpacked, its lab in the Debian 11 userland (debootstrap bullseye, chroot): $(chroot "$root" sh -c "$userland_facts" 2>&1); $(chroot "$root" "$lab" --version 2>&1 | head -1)"
  [ -n "$R_note" ] && R_facts+="; $R_note"
  run_lab debian11-archive chroot "$root" env -i $chroot_env --lab
  R_tests="not run (an archive has no test binary)"
}

# ---------------------------------------------------------------- podman --
# A podman container as a student's is: an image (here imported from a
# debootstrap bookworm folder), the default seccomp profile and masked /proc
# paths, an overlay root holding the lab cache. runc, not crun (crun refuses
# hybrid cgroups), and no default ulimits (raising rlimits is forbidden on
# some hosts). The lab binary is copied into the container.
podman_conf() { # -> $cache/podman/containers.conf
  mkdir -p "$cache/podman"
  cat >"$cache/podman/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  chmod 644 "$cache/podman/containers.conf"
}

# podman_probe LEG PODMAN...: run the lab and the restriction probes in a
# container of the bookworm image; R_* filled
podman_probe() {
  local leg=$1
  shift
  local P=("$@") ctr=pmap-matrix-$leg image=localhost/pmap-matrix-bookworm
  local stamp
  stamp=$(stat -c %Y "$cache/bookworm/var/lib/dpkg/status")
  if [ "$("${P[@]}" image inspect --format '{{index .Labels "matrix.stamp"}}' "$image" 2>/dev/null)" != "$stamp" ]; then
    echo "  podman import of $cache/bookworm" >&2
    tar -C "$cache/bookworm" -c . 2>/dev/null |
      "${P[@]}" import --change "LABEL matrix.stamp=$stamp" - "$image" >"$logs/$leg.import.log" 2>&1 ||
      { skip "podman import failed (see $logs/$leg.import.log)"; R_logs+=" $logs/$leg.import.log"; return; }
  fi
  "${P[@]}" rm -f "$ctr" >/dev/null 2>&1
  "${P[@]}" run -d --name "$ctr" --network none -e HOME=/root -e LANG=C.UTF-8 \
    -e PATH=/usr/local/bin:/usr/bin:/bin "$image" sleep infinity >"$logs/$leg.run.log" 2>&1 ||
    { skip "podman run failed: $(tail -1 "$logs/$leg.run.log")"; R_logs+=" $logs/$leg.run.log"; return; }
  defer "${P[*]} rm -f -t 0 $ctr >/dev/null 2>&1"
  tar -C "$(dirname "$lab")" -c lab | "${P[@]}" cp - "$ctr:/usr/local/bin/" >>"$logs/$leg.run.log" 2>&1 ||
    { skip "podman cp of lab failed (see $logs/$leg.run.log)"; return; }
  local lab=/usr/local/bin/lab facts
  facts=$("${P[@]}" exec "$ctr" sh -c 'echo "seccomp $(grep -E "^Seccomp:" /proc/self/status | cut -f2) (2 = filter), root fs $(stat -f -c %T /), cache dir $HOME/.cache on $(mkdir -p $HOME/.cache && stat -f -c %T $HOME/.cache), CapEff $(grep CapEff /proc/self/status | cut -f2)"' 2>&1)
  R_facts+="; $facts"
  run_lab "$leg" "${P[@]}" exec "$ctr" --lab check --json
  # The probes: what a student meets beyond `lab check`, each a line of
  # R_details: its exit status, the JSON's summary or its stderr's last line
  local probe rc i=0 bg='sleep 60 </dev/null >/dev/null 2>&1 & p=$!; '
  local probes=(
    "lab heap --no-aslr --json"
    "lab heap --impl c --no-aslr --json"
    "${bg}lab explain --json \$p"
    "${bg}lab pmap -X \$p"
    "${bg}lab watch --interval 1 --count 2 --json \$p"
    "python3 -c 'import ctypes; b = ctypes.create_string_buffer(4096); b[0] = b\"x\"; f = open(\"/proc/self/pagemap\", \"rb\"); f.seek(ctypes.addressof(b) // 4096 * 8); v = int.from_bytes(f.read(8), \"little\"); print(\"pagemap of a written page: present\", v >> 63 & 1, \"frame number\", v & ((1 << 55) - 1))'"
    "printf '#include <stdio.h>\\n#include <stdlib.h>\\n#include <sys/mman.h>\\nint main(void) { size_t n = 50 << 20; char *p = malloc(n); if (mlock(p, n)) { perror(\"mlock of 50 MiB\"); return 1; } puts(\"mlock of 50 MiB: ok\"); return 0; }\\n' >/tmp/mlock.c && gcc -o /tmp/mlock /tmp/mlock.c && echo \"ulimit -l \$(ulimit -l)\" && /tmp/mlock"
    "cat /proc/sys/vm/overcommit_memory"
    "cat /sys/kernel/mm/transparent_hugepage/enabled"
    "echo 1 > /proc/sys/vm/drop_caches"
  )
  for probe in "${probes[@]}"; do
    i=$((i + 1))
    local po=$logs/$leg.probe$i.out pe=$logs/$leg.probe$i.err what
    "${P[@]}" exec "$ctr" sh -c "$probe" >"$po" 2>"$pe" </dev/null
    rc=$?
    if [[ $probe == "lab heap"* ]]; then
      what=$(summarise_json "$po" "$rc" | sed -n '1p;3,$p' | sed '2,$s/^/      /')
    else
      what=$(head -c 300 "$po" | head -2 | tr '\n' ' ')
    fi
    R_details+="probe \`${probe#"$bg"}\`: exit $rc; ${what:-no output}; stderr: $(tail -1 "$pe" | cut -c1-300)"$'\n'
  done
  R_tests="not run (no checkout in the container)"
}

leg_podman() {
  is_root || { skip "not root (rootful podman; see podman-rootless)"; return; }
  command -v podman >/dev/null || { skip "no podman (apt-get install podman)"; return; }
  command -v runc >/dev/null || { skip "no runc (apt-get install runc)"; return; }
  R_note=""
  ensure_rootfs bookworm || return
  podman_conf
  local P=(env CONTAINERS_CONF="$cache/podman/containers.conf" podman --root "$cache/podman/storage"
    --runroot /run/pmap-matrix-podman --storage-driver overlay)
  R_facts="rootful podman $(podman --version | cut -d' ' -f3), runc $(runc --version | head -1 | cut -d' ' -f3), default seccomp profile, overlay root; image imported from debootstrap bookworm; lab cache on the container's root"
  [ -n "$R_note" ] && R_facts+="; $R_note"
  podman_probe podman "${P[@]}"
}

leg_podman_rootless() {
  is_root || { skip "not root (creates the user that runs podman)"; return; }
  command -v podman >/dev/null || { skip "no podman (apt-get install podman)"; return; }
  command -v runc >/dev/null || { skip "no runc (apt-get install runc)"; return; }
  command -v newuidmap >/dev/null || { skip "no newuidmap (apt-get install uidmap)"; return; }
  R_note=""
  ensure_rootfs bookworm || return
  podman_conf
  local user=pmap-podman home=$cache/podman-rootless-home uid
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir "$home" --shell /bin/sh "$user" ||
      { skip "useradd failed"; return; }
    defer "userdel '$user'"
  fi
  uid=$(id -u "$user")
  grep -q "^$user:" /etc/subuid || { usermod --add-subuids 300000-365535 "$user" && defer "usermod --del-subuids 300000-365535 '$user' 2>/dev/null"; }
  grep -q "^$user:" /etc/subgid || { usermod --add-subgids 300000-365535 "$user" && defer "usermod --del-subgids 300000-365535 '$user' 2>/dev/null"; }
  # a home left by a user of another uid (the user is made anew each run)
  [ -d "$home" ] && [ "$(stat -c %u "$home")" != "$uid" ] && rm -rf "$home"
  mkdir -p "$home" && chown "$user:" "$home"
  runuser -u "$user" -- test -w "$home" || { skip "$user cannot write $home (directory permissions)"; return; }
  local run=/run/user/$uid
  mkdir -p "$run" && chown "$user:" "$run" && chmod 700 "$run"
  # podman leaves the user's pause process (catatonit) running: end it, by
  # the pid podman wrote, before the user is removed
  defer "p=\$(cat '$run/libpod/tmp/pause.pid' 2>/dev/null) && [ \"\$(stat -c %u /proc/\$p 2>/dev/null)\" = $uid ] && kill \$p; sleep 1; rm -rf '$run'"
  local P=(runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$run"
    CONTAINERS_CONF="$cache/podman/containers.conf" podman --storage-driver overlay)
  R_facts="rootless podman $(podman --version | cut -d' ' -f3) as $user (uid $uid, subuids 300000-365535), runc, default seccomp profile, overlay root; image imported from debootstrap bookworm; lab cache on the container's root"
  [ -n "$R_note" ] && R_facts+="; $R_note"
  podman_probe podman-rootless "${P[@]}"
}

# ---------------------------------------------------------- qemu kernels --
apt_opts() { # SUITE ARCH: apt options for a private apt state of SUITE's ARCH
  local d=$cache/apt/$1-$2 key=$cache/$1/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  {
    echo "deb [signed-by=$key] http://deb.debian.org/debian $1 main"
    case $1 in
      sid | unstable) ;; # no updates or security suites
      *)
        echo "deb [signed-by=$key] http://deb.debian.org/debian $1-updates main"
        echo "deb [signed-by=$key] http://deb.debian.org/debian-security $1-security main"
        ;;
    esac
  } >"$d/sources.list"
  echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null" \
    "-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o Dir::State::status=/dev/null" \
    "-o APT::Sandbox::User=root -o Debug::NoLocking=1" \
    "-o APT::Architecture=$2 -o APT::Architectures=$2"
}

kernel_dir() { # SUITE META -> where that kernel is unpacked
  case $2 in
    linux-image-cloud-amd64) echo "$cache/kernel-$1" ;; # the first legs' place
    *) echo "$cache/kernel-$1-${2#linux-image-}" ;;
  esac
}

find_vmlinuz() { # DIR: the kernel image of the packages unpacked in DIR
  ls "$1"/boot/vmlinuz-* "$1"/usr/lib/modules/*/vmlinuz "$1"/lib/modules/*/vmlinuz 2>/dev/null | head -1
}

ensure_kernel() { # SUITE META ARCH -> prints the kernel image's path: the
  # newest kernel META (linux-image-cloud-amd64, linux-image-arm64-16k...)
  # depends on in SUITE with its security updates (what an up-to-date Debian
  # runs). Two layouts: Debian 11 to 13's linux-image-VERSION-FLAVOUR holds
  # boot/vmlinuz-VERSION and lib/modules/VERSION; since late 2025 (unstable)
  # that package is a small metapackage and the image is in
  # linux-binary-VERSION-FLAVOUR at usr/lib/modules/VERSION/vmlinuz, the
  # modules in linux-modules-VERSION-FLAVOUR, config and modules.builtin in
  # linux-base-VERSION-FLAVOUR. All are unpacked into DIR/x.
  local suite=$1 meta=$2 arch=$3 d k
  d=$(kernel_dir "$suite" "$meta")
  k=$(find_vmlinuz "$d/x")
  if [ -z "$k" ]; then
    local o alog=$logs/apt-$suite-$arch.log pkg deps
    o=$(apt_opts "$suite" "$arch")
    apt-get $o update >"$alog" 2>&1 || return 1
    deps_of() { apt-cache $o depends "$1" 2>>"$alog" | awk '$1 == "Depends:" || $1 == "|Depends:" {print $2}'; }
    pkg=$(deps_of "$meta" | grep -E '^linux-image-[0-9]' | head -1)
    [ -n "$pkg" ] || { echo "$meta depends on no linux-image-VERSION" >>"$alog"; return 1; }
    deps=$(deps_of "$pkg" | grep -E '^linux-(base|binary|modules)-[0-9]' | tr '\n' ' ')
    mkdir -p "$d" && rm -f "$d"/*.deb
    echo "downloading $pkg $deps" >>"$alog"
    (cd "$d" && apt-get $o download "$pkg" $deps) >>"$alog" 2>&1 || return 1
    rm -rf "$d/x" && mkdir -p "$d/x" || return 1
    local deb
    for deb in "$d"/*.deb; do dpkg-deb -x "$deb" "$d/x" || return 1; done
    rm -f "$d"/*.deb
    k=$(find_vmlinuz "$d/x")
    [ -n "$k" ] || { echo "no vmlinuz in $pkg $deps" >>"$alog"; return 1; }
  fi
  echo "$k"
}

# vm_modules KDIR ROOT OVERLAY MODULE...: the MODULEs the kernel in KDIR/x has
# as loadable modules (not built in), with what they depend on (modules.dep,
# soft dependencies too), copied into OVERLAY's usr/lib/modules/VERSION with
# the modules.* indexes made by ROOT's depmod (the userland that will load
# them; the host's when ROOT has none). Prints the names to modprobe at boot.
vm_modules() {
  local kd=$1 root=$2 ov=$3
  shift 3
  local mdir ver
  mdir=$(ls -d "$kd"/x/usr/lib/modules/*/ "$kd"/x/lib/modules/*/ 2>/dev/null | head -1)
  mdir=${mdir%/}
  ver=${mdir##*/}
  [ -n "$ver" ] || return 0
  local m missing=""
  for m in "$@"; do # a module is loadable when its .ko* is there
    [ -n "$(find "$mdir" -name "$m.ko*" -print -quit 2>/dev/null)" ] && missing+=" $m"
  done
  [ -n "$missing" ] || return 0
  if [ ! -s "$mdir/modules.dep" ]; then
    local chr=""
    if [ -x "$root/usr/sbin/depmod" ] || [ -x "$root/sbin/depmod" ]; then
      chr=$root
    elif ! command -v depmod >/dev/null; then
      echo "the kernel has$missing as modules; neither $root nor this machine has depmod (kmod)" >>"$logs/depmod.log"
      return 1
    fi
    # depmod -b BASE looks in BASE/lib/modules or BASE/usr/lib/modules
    # (kmod's build): offer both, on a tmpfs in a private mount namespace
    local base=${chr:-$kd}/mnt
    mkdir -p "$base" 2>/dev/null || true
    unshare -m sh -c 'mount -t tmpfs matrix "$1" && mkdir -p "$1/lib/modules/$3" "$1/usr/lib/modules/$3" &&
      mount --bind "$2" "$1/lib/modules/$3" && mount --bind "$2" "$1/usr/lib/modules/$3" &&
      if [ -n "$4" ]; then chroot "$4" depmod -b /mnt "$3"; else depmod -b "$1" "$3"; fi' \
      _ "$base" "$mdir" "$ver" "$chr" >>"$logs/depmod.log" 2>&1 || return 1
  fi
  "$PY" - "$mdir" "$ov/usr/lib/modules/$ver" "$@" <<'EOF'
import os, re, shutil, sys
mdir, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
norm = lambda n: n.replace("-", "_")
name_of = lambda p: norm(re.sub(r"\.ko(\..*)?$", "", os.path.basename(p)))
builtin = {name_of(l.strip()) for l in open(os.path.join(mdir, "modules.builtin"))} \
    if os.path.exists(os.path.join(mdir, "modules.builtin")) else set()
dep = {}
for line in open(os.path.join(mdir, "modules.dep")):
    path, _, rest = line.partition(":")
    dep[name_of(path)] = (path, rest.split())
soft = {}
if os.path.exists(os.path.join(mdir, "modules.softdep")):
    for line in open(os.path.join(mdir, "modules.softdep")):
        w = line.split()
        if len(w) > 2 and w[0] == "softdep":
            soft[norm(w[1])] = [norm(x) for x in w[2:] if not x.endswith(":")]
alias = {}  # soft dependencies name aliases (crypto-crc32c -> crc32c_generic)
if os.path.exists(os.path.join(mdir, "modules.alias")):
    for line in open(os.path.join(mdir, "modules.alias")):
        w = line.split()
        if len(w) == 3 and w[0] == "alias" and "*" not in w[1]:
            alias.setdefault(norm(w[1]), []).append(norm(w[2]))
files, todo, seen = set(), [norm(w) for w in wanted], set()
while todo:
    m = todo.pop()
    if m not in dep and m not in builtin:
        todo.extend(alias.get(m, []))
        continue
    if m in seen or m in builtin:
        continue
    seen.add(m)
    path, deps = dep[m]
    files.add(path)
    files.update(deps)
    todo.extend(name_of(d) for d in deps)
    todo.extend(soft.get(m, []))
load = [norm(w) for w in wanted if norm(w) in seen]   # modprobe loads the rest
if files:
    os.makedirs(dest, exist_ok=True)
    for f in os.listdir(mdir):
        if f.startswith("modules."):
            shutil.copy2(os.path.join(mdir, f), dest)
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
        shutil.copy2(os.path.join(mdir, f), os.path.join(dest, f))
print(" ".join(load))
EOF
}

# base.cpio: the debootstrap folder without docs, locales and apt's caches
ensure_base_cpio() { # SUITE -> $cache/kernel-SUITE/base.cpio
  local root=$cache/$1 out=$cache/kernel-$1/base.cpio
  mkdir -p "$cache/kernel-$1" || return 1
  if [ ! -s "$out" ] || [ "$root/var/lib/dpkg/status" -nt "$out" ]; then
    (cd "$root" && find . -xdev \( -path ./usr/share/doc -o -path ./usr/share/man \
      -o -path ./usr/share/locale -o -path ./usr/share/info -o -path ./var/cache/apt \
      -o -path ./var/lib/apt/lists -o -path ./var/tmp/pmap-matrix -o -path ./work \
      -o -name 'lto1' -o -name 'lto-wrapper' \) -prune -o -print |
      cpio -o -H newc --quiet) >"$out.tmp" && mv "$out.tmp" "$out" || return 1
  fi
}

# The VM's /init. @MODULES@ (modules to load), @PRE@ (commands the leg runs
# as root before lab, e.g. a sysctl) and @USERLAND@ (the userland's facts) are
# filled in per leg.
vm_init='#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
echo 1 > /proc/sys/kernel/printk
for m in @MODULES@; do modprobe "$m" || echo "@@MATRIX-NOTE modprobe $m failed@@"; done
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] || echo "@@MATRIX-NOTE no /dev/nvme0n1 after 30 s (modules: $(cut -d" " -f1 /proc/modules | tr "\n" " "))@@"
cachefs="the initramfs (RAM)"
mkdir -p /mnt/cache
if [ "$(stat -f -c %T /)" = ext2/ext3 ]; then
  cachefs="the root file system (ext4 on NVMe)"
  export XDG_CACHE_HOME=/var/tmp/pmap-matrix PMAP_LAB_CACHE_DIR=/var/tmp/pmap-matrix/pmap-lab
elif [ -b /dev/nvme0n1 ] && mount -t ext4 /dev/nvme0n1 /mnt/cache; then
  cachefs="an ext4 disk (NVMe)"
  export XDG_CACHE_HOME=/mnt/cache PMAP_LAB_CACHE_DIR=/mnt/cache/pmap-lab
else
  echo "@@MATRIX-NOTE the cache disk could not be mounted: the lab cache is in RAM@@"
fi
@PRE@
mem=$(awk "/^MemTotal:/ {print int(\$2 / 1024)}" /proc/meminfo)
commit=$(awk "/^CommitLimit:/ {print int(\$2 / 1024)}" /proc/meminfo)
echo "@@MATRIX-FACTS kernel $(uname -r) ($(uname -m), $(getconf PAGESIZE)-byte pages), THP $(sed -E "s/.*\[([a-z]+)\].*/\1/" /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo none), $(nproc) CPUs, MemTotal $mem MiB, vm.overcommit_memory $(cat /proc/sys/vm/overcommit_memory) (CommitLimit $commit MiB), lab cache on $cachefs; @USERLAND@@@"
echo @@MATRIX-JSON-BEGIN@@
lab check --json 2>/tmp/check.err
echo "@@MATRIX-RC $?@@"
echo @@MATRIX-JSON-END@@
echo @@MATRIX-STDERR-BEGIN@@
cat /tmp/check.err
dmesg 2>/dev/null | grep -iE "out of memory|oom-kill|killed process|hung_task" | sed "s/^/kernel: /"
t=/sys/kernel/mm/transparent_hugepage
echo "THP knobs: enabled $(cat $t/enabled 2>/dev/null), hpage_pmd_size $(cat $t/hpage_pmd_size 2>/dev/null)"
for f in $t/hugepages-*/enabled; do [ -e "$f" ] && echo "  ${f#$t/}: $(cat "$f")"; done
echo @@MATRIX-STDERR-END@@
umount /mnt/cache 2>/dev/null
sync
echo o > /proc/sysrq-trigger
sleep 10
poweroff -f
'

# lab_for ARCH: the lab binary for ARCH. The host's build for the host's
# architecture; for another one, the newest release archive
# target/dist/lab-*-ARCH-linux-gnu.tar.gz (scripts/release.sh), else
# MATRIX_LAB_<ARCH> (e.g. MATRIX_LAB_AARCH64=/path/to/lab), else cargo's
# cross build in $target/ARCH-unknown-linux-gnu/release/lab. Sets vmlab (the
# path) and lab_origin (where it came from).
lab_for() {
  local a=$1 archive var
  if [ "$a" = "$(uname -m)" ]; then
    lab_origin="this machine's build"
    vmlab=$lab
    return
  fi
  archive=$(ls -t "$repo"/target/dist/lab-*-"$a"-linux-gnu.tar.gz 2>/dev/null | head -1)
  if [ -n "$archive" ]; then
    local x=$cache/lab-$a
    rm -rf "$x" && mkdir -p "$x" && tar -C "$x" -xzf "$archive" || return 1
    local f
    f=$(find "$x" -type f -name lab -perm -u+x | head -1)
    [ -n "$f" ] || return 1
    lab_origin="the release archive ${archive##*/}"
    vmlab=$f
    return
  fi
  var=MATRIX_LAB_$(tr '[:lower:]' '[:upper:]' <<<"$a")
  if [ -n "${!var:-}" ] && [ -x "${!var}" ]; then
    lab_origin="$var=${!var}"
    vmlab=${!var}
    return
  fi
  if [ -x "$target/$a-unknown-linux-gnu/release/lab" ]; then
    lab_origin="cargo build --target $a-unknown-linux-gnu"
    vmlab=$target/$a-unknown-linux-gnu/release/lab
    return
  fi
  return 1
}

# leg_vm LEG [key=value...]: boot a Debian kernel under qemu (TCG) with a
# Debian userland as its root and `lab check --json` as its init's work.
#   kernel=SUITE:META   the kernel META depends on in SUITE (default trixie:linux-image-cloud-amd64)
#   userland=NAME       the debootstrap folder $cache/NAME (default trixie)
#   arch=amd64|arm64    (default amd64)
#   mem=2G              the VM's RAM
#   rootdisk=1          the root on an ext4 image attached as NVMe instead of an
#                       initramfs (which must fit in RAM next to the labs)
#   pre=COMMANDS        run by the init before lab (e.g. a sysctl)
#   modules="nvme ext4" what the init loads when the kernel has them as modules
#   about=TEXT          the leg's first words in the table
leg_vm() {
  local leg=$1
  shift
  local kernel=trixie:linux-image-cloud-amd64 userland=trixie arch=amd64 mem=2G rootdisk=0 pre=: modules="nvme ext4" about=""
  local kv
  for kv in "$@"; do local "$kv"; done
  local ksuite=${kernel%%:*} meta=${kernel#*:} qarch qemu
  qarch=$(qemu_arch "$arch")
  qemu=qemu-system-$qarch
  command -v "$qemu" >/dev/null || {
    case $arch in
      arm64) skip "no $qemu (apt-get install qemu-system-arm)" ;;
      *) skip "no $qemu (apt-get install qemu-system-x86)" ;;
    esac
    return
  }
  command -v cpio >/dev/null || { skip "no cpio"; return; }
  command -v dpkg-deb >/dev/null || { skip "no dpkg-deb"; return; }
  command -v mkfs.ext4 >/dev/null || { skip "no mkfs.ext4 (apt-get install e2fsprogs)"; return; }
  local vmlab lab_origin
  lab_for "$qarch" || {
    skip "no lab binary for $qarch: run scripts/release.sh (target/dist/lab-*-$qarch-linux-gnu.tar.gz), set MATRIX_LAB_$(tr '[:lower:]' '[:upper:]' <<<"$qarch"), or cargo build --release --target $qarch-unknown-linux-gnu"
    return
  }
  R_note=""
  ensure_rootfs "$userland" || return
  local kimage kd
  kd=$(kernel_dir "$ksuite" "$meta")
  kimage=$(ensure_kernel "$ksuite" "$meta" "$arch") || { skip "could not download $ksuite's $meta for $arch (see $logs/apt-$ksuite-$arch.log)"; return; }
  ensure_base_cpio "$userland" || { skip "building the initramfs failed"; return; }
  local d=$cache/vm-$leg ov=$cache/vm-$leg/overlay
  rm -rf "$d" && mkdir -p "$ov/usr/local/bin" || { skip "cannot write $d"; return; }
  cp "$vmlab" "$ov/usr/local/bin/lab"
  local load=""
  if [ -n "$modules" ]; then
    # shellcheck disable=SC2086
    load=$(vm_modules "$kd" "$cache/$userland" "$ov" $modules) || { skip "depmod failed (see $logs/depmod.log)"; return; }
    [ "$rootdisk" = 1 ] && [ -n "$load" ] && { skip "the kernel has $load as modules: a root on disk needs them built in"; return; }
  fi
  local ufacts init
  ufacts=$(chroot "$cache/$userland" sh -c "$userland_facts" 2>/dev/null || echo "Debian $userland userland")
  init=${vm_init//@USERLAND@/$ufacts}
  init=${init//@MODULES@/$load}
  init=${init//@PRE@/$pre}
  printf '%s' "$init" >"$ov/init"
  chmod 755 "$ov/init"
  (cd "$ov" && find . | cpio -o -H newc --quiet) >"$d/overlay.cpio" || { skip "cpio failed"; return; }
  local disk=$d/disk.img boot=() append console
  case $arch in
    arm64) console=ttyAMA0 ;;
    *) console=ttyS0 ;;
  esac
  if [ "$rootdisk" = 1 ]; then
    # the root: base.cpio and the overlay unpacked into an ext4 image
    mkdir -p "$d/root" &&
      (cd "$d/root" && cpio -idm --quiet <"$cache/kernel-$userland/base.cpio" &&
        cpio -idmu --quiet <"$d/overlay.cpio") &&
      truncate -s 3G "$disk" && mkfs.ext4 -q -F -d "$d/root" "$disk" ||
      { skip "making the root disk image failed"; rm -rf "$d"; return; }
    rm -rf "$d/root"
    append="console=$console root=/dev/nvme0n1 rootfstype=ext4 rw init=/init quiet"
  else
    cat "$cache/kernel-$userland/base.cpio" "$d/overlay.cpio" >"$d/initrd.cpio"
    boot=(-initrd "$d/initrd.cpio")
    append="console=$console rdinit=/init quiet"
    truncate -s 1G "$disk" && mkfs.ext4 -q -F "$disk" || { skip "mkfs.ext4 failed"; return; }
  fi
  local machine=()
  case $arch in
    arm64) machine=(-M virt -cpu max,pauth-impdef=on) ;;
    *) machine=(-cpu max) ;;
  esac
  local serial=$logs/$leg.serial.log rc
  timeout "$qemu_timeout" "$qemu" "${machine[@]}" -accel tcg -m "$mem" -smp 2 -nographic -no-reboot \
    -kernel "$kimage" "${boot[@]}" -append "$append" \
    -drive "file=$disk,if=none,id=disk,format=raw" -device nvme,drive=disk,serial=matrix \
    >"$serial" 2>&1 </dev/null
  rc=$?
  rm -rf "$d"
  tr -d '\r' <"$serial" >"$serial.txt"
  local facts
  facts=$(grep -o '@@MATRIX-FACTS .*@@' "$serial.txt" | sed -E 's/@@MATRIX-FACTS (.*)@@/\1/')
  R_facts="${about:+$about: }qemu-system-$qarch TCG, 2 vCPUs, -m $mem, Debian $ksuite's $meta$([ "$rootdisk" = 1 ] && echo ", root on an ext4 NVMe disk"); ${facts:-no facts printed (qemu exit $rc)}; lab: $lab_origin"
  [ -n "$R_note" ] && R_facts+="; $R_note"
  sed -n '/@@MATRIX-JSON-BEGIN@@/,/@@MATRIX-JSON-END@@/p' "$serial.txt" | sed '1d;$d' | grep -v '@@MATRIX-RC' >"$logs/$leg.json"
  sed -n '/@@MATRIX-STDERR-BEGIN@@/,/@@MATRIX-STDERR-END@@/p' "$serial.txt" | sed '1d;$d' >"$logs/$leg.log"
  local lrc
  lrc=$(grep -oE '@@MATRIX-RC [0-9]+@@' "$serial.txt" | grep -oE '[0-9]+')
  [ -n "$lrc" ] || { lrc=99; cp "$serial.txt" "$logs/$leg.log"; }
  check_result "$leg" "$logs/$leg.json" "$lrc" "$serial.txt"
  local notes
  notes=$(grep -o '@@MATRIX-NOTE .*@@' "$serial.txt" | sed -E 's/@@MATRIX-NOTE (.*)@@/the VM: \1/')
  [ -n "$notes" ] && R_details+="$notes"$'\n'
  R_tests="not run (no checkout in the VM)"
}

# ----------------------------------------------------------------- driver --
leg_desc() { # what a leg varies, for the table when it could not run
  case $1 in
    host) echo "this machine as it is" ;;
    debian13) echo "Debian 13 userland (debootstrap trixie, chroot)" ;;
    debian11) echo "Debian 11 userland (debootstrap bullseye, chroot), the project built there" ;;
    debian11-archive) echo "the release archive's lab in the Debian 11 userland" ;;
    debian-unstable) echo "Debian unstable userland (debootstrap sid, chroot)" ;;
    podman) echo "a rootful podman container (default seccomp profile, overlay root)" ;;
    podman-rootless) echo "a rootless podman container (default seccomp profile, overlay root)" ;;
    kernel-6.1) echo "Debian 12's cloud kernel 6.1 under qemu, Debian 12 initramfs" ;;
    kernel-6.12) echo "Debian 13's cloud kernel 6.12 under qemu, Debian 13 initramfs" ;;
    kernel-newest) echo "Debian unstable's newest cloud kernel under qemu, Debian 12 initramfs" ;;
    kernel-5.10) echo "Debian 11's cloud kernel 5.10 under qemu, Debian 12 initramfs" ;;
    overcommit-strict) echo "vm.overcommit_memory=2 in a qemu VM (Debian 13 kernel and userland)" ;;
    vm-256m) echo "a qemu VM with 256 MiB of RAM, the root on an ext4 disk" ;;
    arm64-4k) echo "arm64 with 4 KiB pages: Debian 13's cloud-arm64 kernel under qemu-system-aarch64" ;;
    arm64-16k) echo "arm64 with 16 KiB pages: Debian 13's arm64-16k kernel under qemu-system-aarch64" ;;
    cpus1) echo "glibc sees 1 online CPU" ;;
    stack-*) echo "ulimit -s ${1#stack-}" ;;
    thp-*) echo "transparent huge pages: ${1#thp-}" ;;
    cc-*) echo "CC: ${1#cc-}" ;;
    py-* | pyenv-*) echo "Python: ${1#py*-}" ;;
    cache-tmpfs) echo "the lab cache directory on tmpfs" ;;
    cgroup-*) echo "memory cgroup limit ${1#cgroup-}" ;;
    nonroot) echo "a non-root user" ;;
    cache-readonly) echo "a read-only default cache directory" ;;
    jemalloc | mimalloc | tcmalloc) echo "LD_PRELOAD $1" ;;
    *) echo "allocator environment" ;;
  esac
}

run_leg() {
  local leg=$1
  R_facts="" R_check="" R_tests="" R_status="" R_details="" R_logs=""
  local mark=${#undo[@]}
  case $leg in
    host) leg_host ;;
    debian13) leg_debian13 ;;
    debian11) leg_debian11 ;;
    debian11-archive) leg_debian11_archive ;;
    debian-unstable) leg_debian_unstable ;;
    podman) leg_podman ;;
    podman-rootless) leg_podman_rootless ;;
    kernel-6.1) leg_vm "$leg" kernel=bookworm:linux-image-cloud-amd64 userland=bookworm ;;
    kernel-6.12) leg_vm "$leg" kernel=trixie:linux-image-cloud-amd64 userland=trixie ;;
    kernel-newest) leg_vm "$leg" kernel=sid:linux-image-cloud-amd64 userland=bookworm about="Debian unstable's newest kernel, Debian 12 userland" ;;
    kernel-5.10) leg_vm "$leg" kernel=bullseye:linux-image-cloud-amd64 userland=bookworm about="Debian 11's kernel, Debian 12 userland" ;;
    overcommit-strict) leg_vm "$leg" pre="sysctl -q vm.overcommit_memory=2 2>/dev/null || echo 2 >/proc/sys/vm/overcommit_memory" about="strict overcommit (vm.overcommit_memory=2 set by the init)" ;;
    vm-256m) leg_vm "$leg" mem=256M rootdisk=1 about="a 256 MiB VM" ;;
    arm64-4k) leg_vm "$leg" arch=arm64 kernel=trixie:linux-image-cloud-arm64 userland=trixie-arm64 about="arm64, 4 KiB pages" ;;
    arm64-16k) leg_vm "$leg" arch=arm64 kernel=trixie:linux-image-arm64-16k userland=trixie-arm64 about="arm64, 16 KiB pages" ;;
    cpus1) leg_cpus1 ;;
    stack-*) leg_stack "$leg" "${leg#stack-}" ;;
    arena-max-2) with_env "$leg" "MALLOC_ARENA_MAX=2" MALLOC_ARENA_MAX=2 ;;
    tunable-arena-max-1) with_env "$leg" "GLIBC_TUNABLES=glibc.malloc.arena_max=1" GLIBC_TUNABLES=glibc.malloc.arena_max=1 ;;
    tunable-hugetlb-1) with_env "$leg" "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 ;;
    tunable-stack-cache-0) with_env "$leg" "GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0" GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0 ;;
    perturb-165) with_env "$leg" "MALLOC_PERTURB_=165" MALLOC_PERTURB_=165 ;;
    jemalloc) leg_preload "$leg" libjemalloc.so.2 libjemalloc2 ;;
    mimalloc) leg_preload "$leg" libmimalloc.so.2 libmimalloc2.0 ;;
    tcmalloc) leg_preload "$leg" libtcmalloc_minimal.so.4 libtcmalloc-minimal4 ;;
    thp-always | thp-madvise | thp-never) leg_thp "$leg" "THP enabled = ${leg#thp-}" "enabled=${leg#thp-}" ;;
    thp-2m-never) leg_thp "$leg" "THP enabled = madvise, hugepages-2048kB/enabled = never" enabled=madvise hugepages-2048kB/enabled=never ;;
    thp-64k-always) leg_thp "$leg" "THP hugepages-64kB/enabled = always (enabled = $(thp_get "$thp/enabled"))" hugepages-64kB/enabled=always ;;
    cc-clang) leg_cc "$leg" clang ;;
    cc-musl) leg_cc "$leg" musl-gcc ;;
    cc-gcc-O2) leg_cc "$leg" "gcc -O2" ;;
    cc-clang-O2) leg_cc "$leg" "clang -O2" ;;
    py-pypy3) leg_python "$leg" "$(command -v pypy3 || echo /usr/bin/pypy3)" ;;
    py-dbg) leg_python "$leg" "$(command -v python3-dbg || echo /usr/bin/python3-dbg)" ;;
    pyenv-*) leg_pyenv "$leg" ;;
    cache-tmpfs) leg_cache_tmpfs ;;
    cache-readonly) leg_cache_readonly ;;
    cgroup-*) leg_cgroup "$leg" "$(tr '[:lower:]' '[:upper:]' <<<"${leg#cgroup-}")" ;;
    nonroot) leg_nonroot ;;
    *) echo "unknown leg: $leg (scripts/matrix.sh --list)" >&2; return 2 ;;
  esac
  undo_to "$mark"
  [ -n "$R_facts" ] || R_facts=$(leg_desc "$leg")
}

main() {
  local legs=()
  for a in "$@"; do
    case $a in
      --list) all_legs | tr ' ' '\n'; exit 0 ;;
      -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
      -*) echo "unknown option $a" >&2; exit 2 ;;
      *) legs+=("$a") ;;
    esac
  done
  [ ${#legs[@]} -gt 0 ] || read -ra legs <<<"$(all_legs | tr '\n' ' ')"
  local known=" $(all_legs | tr '\n' ' ') " l
  for l in "${legs[@]}"; do
    [[ $known == *" $l "* ]] || { echo "unknown leg: $l (scripts/matrix.sh --list)" >&2; exit 2; }
  done
  [ -n "$PY" ] || { echo "matrix.sh needs python3 to read lab's JSON" >&2; exit 2; }

  mkdir -p "$cache"
  logs=$cache/logs/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$logs"

  # Build once.
  if [ "${MATRIX_NO_BUILD:-}" != 1 ]; then
    echo "building (cargo build --release; cargo test --release --workspace --no-run)" >&2
    (cd "$repo" && cargo build --release -q) >"$logs/build.log" 2>&1 &&
      (cd "$repo" && cargo test --release --workspace --no-run --message-format=json) \
        >"$logs/build-tests.json" 2>>"$logs/build.log" ||
      { echo "build failed: see $logs/build.log" >&2; exit 2; }
  fi
  integration=$(grep -h '"name":"integration"' "$logs/build-tests.json" 2>/dev/null |
    grep -oE '"executable":"[^"]+"' | tail -1 | cut -d'"' -f4)
  [ -n "$integration" ] || integration=$(ls -t "$target"/release/deps/integration-* 2>/dev/null | grep -v '\.d$' | head -1)
  [ -x "$lab" ] || { echo "no $lab" >&2; exit 2; }
  "$lab" check --help 2>&1 | grep -q -- --keep-alloc-env && keep_alloc=1
  # this machine's facts as lab states them (newer binaries), so that each
  # leg's row can name the facts that differ
  baseline=$logs/baseline.json
  env $(lab_env "$cache/labcache/host") "$lab" check heap pylist --json >"$baseline" 2>/dev/null </dev/null

  echo "lab: $lab; integration tests: ${integration:-none}; logs: $logs" >&2
  for l in "${legs[@]}"; do
    local t0=$SECONDS
    printf '%-24s ' "$l" >&2
    run_leg "$l"
    local secs=$((SECONDS - t0))
    printf '%s %s (%d s)\n' "$R_check" "${R_tests:+| tests $R_tests}" "$secs" >&2
    [ "$R_status" = fail ] && any_fail=1
    local esc_facts=${R_facts//|/\\|}
    rows+=("| $l | ${esc_facts:--} | ${R_check//|/\\|} | ${R_tests:--} | $secs |")
    if [ -n "$R_details" ] || [ "$R_status" = fail ]; then
      details+=("### $l" "" "$(sed '/^$/d; s/^/    /' <<<"$R_details")" "")
      [ -n "$R_logs" ] && details+=("logs:$R_logs" "")
    fi
  done

  {
    echo "| leg | what differs | \`lab check\` | integration tests | s |"
    echo "|---|---|---|---|---:|"
    printf '%s\n' "${rows[@]}"
    if [ ${#details[@]} -gt 0 ]; then
      echo
      echo "## Failures and checks not applicable"
      echo
      printf '%s\n' "${details[@]}"
    fi
  } | tee "$logs/table.md"
  echo "(table and failures also in $logs/table.md)" >&2
  exit "$any_fail"
}

main "$@"
