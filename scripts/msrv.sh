#!/usr/bin/env bash
# Proves the workspace's rust-version (Cargo.toml): builds and tests the
# workspace with Debian 13 (trixie)'s packaged cargo and rustc (1.85), inside a
# Debian 13 userland, with the crates locked in Cargo.lock.
#
#   scripts/msrv.sh                  build, then `cargo test --release --workspace`
#   scripts/msrv.sh --no-run         build the tests only
#   scripts/msrv.sh [--no-run] ARGS  ARGS go to `cargo test` (e.g. -- --skip snapshots)
#
# Needs root (debootstrap, chroot, mount), debootstrap, and cargo on this machine
# (to vendor the crates: the chroot builds offline). Idempotent, everything
# cached under target/:
#   ${MATRIX_CACHE:-target/matrix}/trixie-rust  Debian 13 + cargo/rustc. Seeded by
#       copying ${MATRIX_CACHE}/trixie when that is a complete debootstrap (the
#       portability matrix's userland, left untouched), else debootstrapped.
#   ${MSRV_DIR:-target/msrv}/  vendor/ (cargo vendor), cargo-home/, target/,
#       cargo-config.toml (the vendored source, offline); nothing is committed.
# While it runs the repository is bind-mounted into the chroot at its own path
# (under target/ by default): do not `rm -rf target` or `cargo clean` meanwhile.
# The mounts are undone on exit, error or interrupt.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${MATRIX_CACHE:-$repo/target/matrix}
base=$cache/trixie
root=$cache/trixie-rust
work=${MSRV_DIR:-$repo/target/msrv}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

no_run=false
if [ "${1:-}" = --no-run ]; then no_run=true; shift; fi

die() { echo "msrv.sh: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
command -v cargo >/dev/null 2>&1 || die "needs cargo here, to vendor the crates"

mkdir -p "$cache" "$work"
exec 9>"$cache/trixie-rust.lock"
flock -n 9 || die "another msrv.sh is using $root"

# Mounts made by this run, undone in reverse order on exit.
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -R -l "${mounted[i]}" || true
  done
  mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mounts_under() { grep -q " $1/" /proc/self/mountinfo; }

mnt() { # mnt TARGET MOUNT-ARGS...
  local t=$1; shift
  mkdir -p "$t"
  mountpoint -q "$t" && return 0 # left by a run that was killed: reuse it
  mount "$@" "$t"
  mounted+=("$t")
}

enter() { # enter ROOT: /proc, /sys and /dev of this machine, as the tests need them
  mnt "$1/proc" -t proc proc
  mnt "$1/sys" --rbind /sys
  mount --make-rslave "$1/sys"
  mnt "$1/dev" --rbind /dev
  mount --make-rslave "$1/dev"
}

# A clean environment, nothing of this shell's. INSTA_UPDATE=no: a snapshot that
# differs fails without writing .snap.new files into labs/. Not CI=true: that
# would fail (not skip) the HTML test for want of Chromium, which has nothing
# to do with the Rust version.
run_in() { # run_in ROOT CMD...
  local r=$1; shift
  chroot "$r" env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root \
    INSTA_UPDATE=no \
    CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/target" \
    "$@"
}

complete_debootstrap() { # the packages the labs and tests need are installed
  [ -f "$1/etc/debian_version" ] || return 1
  local st
  st=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${db:Status-Status}\n' \
    python3 gcc libc6-dev procps 2>/dev/null) || return 1
  [ "$(grep -c '^installed$' <<<"$st")" -eq 4 ]
}

install_rust() { # install_rust ROOT
  rm -f "$1/etc/resolv.conf" # not through a link to this machine's /run
  cp -L /etc/resolv.conf "$1/etc/resolv.conf"
  enter "$1"
  run_in "$1" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo rustc >/dev/null'
  cleanup
}

# 1. The Debian 13 userland with its cargo.
if [ ! -d "$root" ]; then
  partial=$root.partial
  if [ -e "$partial" ]; then
    mounts_under "$partial" && die "$partial has mounts; unmount them first"
    rm -rf "$partial"
  fi
  if complete_debootstrap "$base"; then
    echo "== copying $base to $root"
    cp -a "$base" "$partial"
  else
    command -v debootstrap >/dev/null 2>&1 || die "needs debootstrap (apt-get install debootstrap)"
    echo "== debootstrap trixie into $root (a few minutes)"
    debootstrap --variant=minbase --include=python3,gcc,libc6-dev,procps \
      trixie "$partial" "$mirror" >"$cache/trixie-rust.debootstrap.log" 2>&1 ||
      die "debootstrap failed: $cache/trixie-rust.debootstrap.log"
  fi
  echo "== apt-get install cargo rustc"
  install_rust "$partial"
  mv "$partial" "$root"
elif [ ! -x "$root/usr/bin/cargo" ]; then
  echo "== apt-get install cargo rustc"
  install_rust "$root"
fi

# 2. The crates, vendored here; the chroot builds offline from them.
echo "== cargo vendor into $work/vendor"
(cd "$repo" && cargo vendor --quiet --locked --versioned-dirs "$work/vendor" >/dev/null)
cat >"$work/cargo-config.toml" <<EOF
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$work/vendor"

[net]
offline = true
EOF

# 3. Build and test with the chroot's cargo, in the checkout at its own path.
enter "$root"
mnt "$root$repo" --bind "$repo"

declared=$(sed -n 's/^rust-version = "\([0-9.]*\)".*/\1/p' "$repo/Cargo.toml" | head -1)
have=$(run_in "$root" rustc --version)
echo "== $(run_in "$root" cargo --version); $have"
echo "== Cargo.toml: rust-version = \"$declared\""
case "$have" in
  "rustc $declared."*) ;;
  *) echo "msrv.sh: warning: this is not the Rust that rust-version names" >&2 ;;
esac

cargo_test() {
  # shellcheck disable=SC2016 # $1 and $@ are the inner shell's
  run_in "$root" sh -c 'cd "$1" && shift && exec "$@"' sh "$repo" \
    cargo test --config "$work/cargo-config.toml" --locked --release --workspace "$@"
}

start=$SECONDS
cargo_test --no-run
echo "== built in $((SECONDS - start)) s"
$no_run && exit 0

start=$SECONDS
rc=0
cargo_test --no-fail-fast "$@" || rc=$?
echo "== tests ran in $((SECONDS - start)) s, exit $rc"
exit "$rc"
