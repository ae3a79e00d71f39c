#!/usr/bin/env bash
# Builds the release archives of `lab`, for students who have no Rust:
#
#   target/dist/lab-VERSION-x86_64-linux-gnu.tar.gz   and its .sha256
#   target/dist/lab-VERSION-aarch64-linux-gnu.tar.gz  and its .sha256
#
# Each archive holds one folder, lab-VERSION-ARCH-linux-gnu/, with `lab`, its
# manual page (man/lab.1, from `lab man`), shell completions
# (completions/lab.bash, completions/_lab for zsh, completions/lab.fish, from
# `lab completions SHELL`), BUILD-INFO (commit, compiler, newest glibc symbol
# version), README.md and LICENSE* when the repository has them.
#
#   scripts/release.sh                    both archives, then verify them
#   scripts/release.sh x86_64|aarch64     one of them
#   scripts/release.sh --no-verify [...]  skip the runs (the ELF checks always run)
#
# Both binaries run on glibc >= 2.31 (Debian 11, Ubuntu 20.04 and newer). They
# are dynamically linked against glibc, so the Rust ports keep glibc's malloc
# (a static musl build would teach musl's allocator instead):
# - x86_64 is built inside a Debian 11 (bullseye, glibc 2.31, gcc 10) userland
#   with this machine's Rust toolchain (`rustc --print sysroot`, or
#   RELEASE_TOOLCHAIN) bind-mounted read-only at /opt/rust.
# - aarch64 is cross-built in a Debian 13 (trixie) userland with Debian's
#   rustc/cargo 1.85 (the workspace's rust-version), libstd-rust-dev:arm64 and
#   gcc-aarch64-linux-gnu, linked against an arm64 glibc 2.31 sysroot: Debian
#   11's libc6, libc6-dev, libgcc-s1, libcrypt and linux-libc-dev for arm64,
#   extracted with dpkg-deb -x.
# The crates are vendored here (`cargo vendor`, Cargo.lock); both builds are
# offline. Release profile with debug = 0 (no debug info in the archives).
#
# Checks (a failed one makes the exit status 1; the archives are still written):
# - ELF, always: the interpreter is glibc's (ld-linux-x86-64.so.2,
#   ld-linux-aarch64.so.1), libc.so.6 is NEEDED, malloc is glibc's (an
#   undefined dynamic symbol versioned GLIBC_*), and no GLIBC_ symbol version
#   is above 2.31 (readelf --version-info).
# - x86_64: the archive is unpacked in the Debian 11 userland (chroot in a
#   private mount namespace, /proc /dev /dev/pts /sys mounted, a tmpfs /tmp)
#   and runs, as user nobody, `lab --version`, `lab list`, then
#   `lab check heap mmap` (the C demos compiled there by gcc 10).
# - aarch64: under qemu-user (qemu-aarch64-static, package qemu-user-static)
#   with the glibc 2.31 arm64 sysroot (-L): `lab --version`, `lab list`,
#   `lab pmap -x PID`, `lab explain PID`; then `lab --version` and
#   `lab pmap -x PID` with Debian 13's arm64 glibc 2.41. qemu-user shows the
#   emulator's own map, not an arm64 kernel's, so the labs themselves are
#   checked on arm64 kernels under qemu-system-aarch64, with this archive.
#
# Needs a Debian or Ubuntu machine (apt-get and dpkg-deb fetch the sysroot),
# root (debootstrap, chroot, mount, unshare), debootstrap, binutils (readelf),
# cargo and rustc here, and qemu-user-static for aarch64 (its manual page and
# completions are written by running it). Idempotent: everything heavy is
# cached under ${RELEASE_BUILD_DIR:-target/release-build}:
#   bullseye/            Debian 11 userland (copied from ${MATRIX_CACHE:-target/matrix}/bullseye
#                        when that is a complete debootstrap, else debootstrapped)
#   trixie-cross/        Debian 13 userland with the cross toolchain (seeded from
#                        ${MATRIX_CACHE}/trixie the same way, then apt-get)
#   sysroot-arm64/       the arm64 glibc 2.31 sysroot (sysroot-arm64.apt/: its private apt state)
#   vendor/, cargo-config.toml, cargo-home-*/, target-*/, stage/, logs/
#   timings.log          one line per build: date, commit, target, seconds
# A second run rebuilds only what changed. The mounts live in a private mount
# namespace (unshare -m) and vanish with it, also on error or Ctrl-C.
# Other settings: DIST_DIR (default target/dist), DEBIAN_MIRROR, BULLSEYE_MIRROR (Debian
# 11's, default DEBIAN_MIRROR; http://archive.debian.org/debian once it moves there).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
self=$repo/scripts/release.sh
build=${RELEASE_BUILD_DIR:-$repo/target/release-build}
dist=${DIST_DIR:-$repo/target/dist}
seed=${MATRIX_CACHE:-$repo/target/matrix}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Debian 11 leaves deb.debian.org for archive.debian.org some day: BULLSEYE_MIRROR.
old_mirror=${BULLSEYE_MIRROR:-$mirror}
cfg=$build/cargo-config.toml
sysroot=$build/sysroot-arm64
max_glibc=2.31
path=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin

die() { echo "release.sh: $*" >&2; exit 2; }
say() { echo "== $*"; }

version=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || die "no [package] version in Cargo.toml"

# --------------------------------------------------------------- roots --
mnt() { # mnt TARGET MOUNT-ARGS... (only inside the private namespace)
  local t=$1; shift
  mkdir -p "$t"
  mount "$@" "$t"
}

enter() { # enter ROOT: /proc, /dev, /dev/pts, /sys and the checkout at its own path
  mnt "$1/proc" -t proc proc
  mnt "$1/sys" --rbind /sys
  mnt "$1/dev" --rbind /dev
  mnt "$1$repo" --bind "$repo"
}

run_in() { # run_in ROOT CMD...: an empty environment, nothing of this shell's
  local r=$1; shift
  chroot "$r" env -i PATH="$path" HOME=/root LANG=C.UTF-8 "$@"
}

complete_debootstrap() { # ROOT: a debootstrap with the packages the labs need
  [ -f "$1/etc/debian_version" ] || return 1
  local st
  st=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${db:Status-Status}\n' \
    python3 gcc libc6-dev procps 2>/dev/null) || return 1
  [ "$(grep -c '^installed$' <<<"$st")" -eq 4 ]
}

ensure_root() { # ensure_root SUITE DIR: DIR is a complete debootstrap of SUITE
  local suite=$1 dir=$2
  complete_debootstrap "$dir" && return 0
  [ -e "$dir" ] && { grep -q " $dir/" /proc/self/mountinfo && die "$dir has mounts"; rm -rf "$dir"; }
  local partial=$dir.partial
  if [ -e "$partial" ]; then
    grep -q " $partial/" /proc/self/mountinfo && die "$partial has mounts; unmount them first"
    rm -rf "$partial"
  fi
  if complete_debootstrap "$seed/$suite"; then
    # Not while something is mounted in it (proc, the checkout): cp would copy that too.
    grep -q " $seed/$suite/" /proc/self/mountinfo &&
      die "$seed/$suite has mounts (a matrix run?); try again later, or MATRIX_CACHE=/nonexistent to debootstrap"
    say "copying $seed/$suite to $dir"
    cp -a --one-file-system "$seed/$suite" "$partial"
  else
    command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
    local m=$mirror
    [ "$suite" = bullseye ] && m=$old_mirror
    say "debootstrap $suite into $dir (a few minutes)"
    debootstrap --variant=minbase --include=python3,gcc,libc6-dev,procps \
      "$suite" "$partial" "$m" >"$build/logs/debootstrap-$suite.log" 2>&1 ||
      die "debootstrap failed: $build/logs/debootstrap-$suite.log"
  fi
  mv "$partial" "$dir"
}

# Runs inside the namespace: apt-get in the Debian 13 root.
ns_install_cross() {
  local r=$1
  rm -f "$r/etc/resolv.conf" # not through a link to this machine's /run
  cp -L /etc/resolv.conf "$r/etc/resolv.conf"
  mnt "$r/proc" -t proc proc
  mnt "$r/dev" --rbind /dev
  run_in "$r" sh -c 'dpkg --add-architecture arm64 &&
    export DEBIAN_FRONTEND=noninteractive &&
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends cargo rustc libstd-rust-dev:arm64 \
      gcc-aarch64-linux-gnu >/dev/null'
}

cross_ready() { # the Debian 13 root has everything for the aarch64 build
  local st
  st=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${db:Status-Status}\n' \
    cargo rustc libstd-rust-dev:arm64 gcc-aarch64-linux-gnu 2>/dev/null) || return 1
  [ "$(grep -c '^installed$' <<<"$st")" -eq 4 ]
}

ensure_cross_root() {
  local r=$build/trixie-cross
  cross_ready "$r" && return 0
  if [ ! -d "$r" ]; then
    ensure_root trixie "$r.base"
    mv "$r.base" "$r"
  fi
  say "apt-get install cargo rustc libstd-rust-dev:arm64 gcc-aarch64-linux-gnu in $r"
  unshare -m --propagation private "$self" --ns ns_install_cross "$r"
  cross_ready "$r" || die "the cross toolchain did not install in $r"
}

# The arm64 glibc 2.31 sysroot: Debian 11's packages, extracted.
ensure_sysroot() {
  [ -f "$sysroot/.complete" ] && return 0
  local keyring=$build/bullseye/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || die "no Debian archive keyring (apt-get install debian-archive-keyring)"
  local d=$build/sysroot-arm64.apt
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/debs"
  # bullseye's last point release (glibc 2.31-13+deb11u11, as debootstrap
  # installs it). bullseye-security listed libc6 2.31-13+deb11u14 for arm64
  # but its pool answered 404 (2026-12-06), so only the point release is used.
  echo "deb [arch=arm64 signed-by=$keyring] $old_mirror bullseye main" >"$d/sources.list"
  local o=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o Dir::State::status=/dev/null
    -o APT::Architecture=arm64
    -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  say "downloading Debian 11's arm64 glibc into $sysroot"
  apt-get "${o[@]}" update >"$build/logs/sysroot-apt.log" 2>&1 ||
    die "apt-get update failed: $build/logs/sysroot-apt.log"
  rm -f "$d"/debs/*.deb
  (cd "$d/debs" && apt-get "${o[@]}" download libc6 libc6-dev libgcc-s1 libcrypt1 \
    libcrypt-dev linux-libc-dev) >>"$build/logs/sysroot-apt.log" 2>&1 ||
    die "apt-get download failed: $build/logs/sysroot-apt.log"
  rm -rf "$sysroot"
  local deb
  for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  # libc6-dev's libpthread.so, libutil.so, libm.so... are absolute links
  # (/lib/aarch64-linux-gnu/...): in the Debian 13 root they would name its
  # own glibc 2.41 (libpthread.so.0 without pthread_create). Make them relative.
  local link
  while IFS= read -r -d '' link; do
    ln -sfnr "$sysroot$(readlink "$link")" "$link"
  done < <(find "$sysroot" -type l -lname '/*' -print0)
  ls "$d"/debs >"$sysroot/.complete"
}

# ------------------------------------------------------------- crates --
vendor() {
  if [ -f "$build/vendor.lock" ] && cmp -s "$repo/Cargo.lock" "$build/vendor.lock" &&
    [ -f "$cfg" ]; then
    return 0
  fi
  say "cargo vendor into $build/vendor"
  rm -rf "$build/vendor"
  (cd "$repo" && cargo vendor --quiet --locked --versioned-dirs "$build/vendor" >/dev/null)
  cat >"$cfg" <<EOF
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$build/vendor"

[net]
offline = true
EOF
  cp "$repo/Cargo.lock" "$build/vendor.lock"
}

# ------------------------------------------------------------- builds --
# Both inside the namespace. CARGO_PROFILE_RELEASE_DEBUG=0: no debug info.
ns_build_x86_64() {
  local r=$build/bullseye toolchain=$1
  enter "$r"
  mnt "$r/opt/rust" --bind -o ro "$toolchain"
  mount -o remount,bind,ro "$r/opt/rust"
  # shellcheck disable=SC2016 # $1 is the inner shell's
  run_in "$r" PATH="/opt/rust/bin:$path" RUSTC=/opt/rust/bin/rustc \
    CARGO_HOME="$build/cargo-home-x86_64" CARGO_TARGET_DIR="$build/target-x86_64" \
    CARGO_PROFILE_RELEASE_DEBUG=0 \
    sh -c 'cd "$1" && shift && exec nice "$@"' sh "$repo" \
    cargo build --config "$cfg" --locked --offline --release --bin lab
}

ns_build_aarch64() {
  local r=$build/trixie-cross
  enter "$r"
  # The sysroot's library folders come first (-L): the cross gcc's own tooldir
  # holds Debian 13's arm64 glibc and libgcc_s, which must not be linked.
  local flags="-C link-arg=--sysroot=$sysroot"
  flags+=" -C link-arg=-L$sysroot/lib/aarch64-linux-gnu"
  flags+=" -C link-arg=-L$sysroot/usr/lib/aarch64-linux-gnu"
  # shellcheck disable=SC2016
  run_in "$r" CARGO_HOME="$build/cargo-home-aarch64" CARGO_TARGET_DIR="$build/target-aarch64" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$flags" \
    CARGO_PROFILE_RELEASE_DEBUG=0 \
    sh -c 'cd "$1" && shift && exec nice "$@"' sh "$repo" \
    cargo build --config "$cfg" --locked --offline --release \
    --target aarch64-unknown-linux-gnu --bin lab
}

timed_build() { # timed_build ARCH CMD...: logs the time to timings.log
  local arch=$1 start=$SECONDS rc=0; shift
  say "building lab for $arch"
  "$@" || rc=$?
  local took=$((SECONDS - start))
  [ "$rc" -eq 0 ] || die "the $arch build failed (exit $rc) after $took s"
  say "$arch built in $took s"
  echo "$(date -u +%FT%TZ) $(git -C "$repo" describe --always --dirty) $arch ${took}s" >>"$build/timings.log"
}

# ---------------------------------------------------------- archives --
package() { # package ARCH BIN RUNNER...: RUNNER runs BIN here (a qemu for aarch64)
  local arch=$1 bin=$2; shift 2
  local name=lab-$version-$arch-linux-gnu
  local st=$build/stage/$name
  rm -rf "$st" && mkdir -p "$st/man" "$st/completions"
  cp "$bin" "$st/lab"
  "$@" "$st/lab" man >"$st/man/lab.1"
  "$@" "$st/lab" completions bash >"$st/completions/lab.bash"
  "$@" "$st/lab" completions zsh >"$st/completions/_lab"
  "$@" "$st/lab" completions fish >"$st/completions/lab.fish"
  {
    echo "lab $version for $arch Linux (glibc)"
    echo "commit: $(git -C "$repo" describe --always --dirty --abbrev=12)"
    echo "compiler: $(readelf -p .comment "$bin" | grep -o 'rustc version [^ ]*' | head -1)"
    echo "linked against: glibc 2.31 (Debian 11); the newest glibc symbol version it uses:" \
      "$(readelf -VW "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1)"
    echo "built by: scripts/release.sh"
  } >"$st/BUILD-INFO"
  local f
  for f in "$repo"/README.md "$repo"/LICENSE*; do
    [ -f "$f" ] && cp "$f" "$st/"
  done
  mkdir -p "$dist"
  # Reproducible: sorted names, owner 0, the commit's time, gzip without a name or time.
  local mtime
  mtime=$(git -C "$repo" log -1 --format=%ct)
  tar -C "$build/stage" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$mtime" -cf - "$name" | gzip -n -9 >"$dist/$name.tar.gz.tmp"
  mv "$dist/$name.tar.gz.tmp" "$dist/$name.tar.gz"
  (cd "$dist" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
  say "$dist/$name.tar.gz ($(du -k "$dist/$name.tar.gz" | cut -f1) KiB)"
}

# ------------------------------------------------------------- checks --
failed=()
fail() { echo "release.sh: CHECK FAILED: $*" >&2; failed+=("$*"); }

check_elf() { # check_elf ARCH BIN LIBDIR...: LIBDIRs hold Debian 11's libraries
  local arch=$1 bin=$2 want_interp
  case $arch in
    x86_64) want_interp=/lib64/ld-linux-x86-64.so.2 ;;
    aarch64) want_interp=/lib/ld-linux-aarch64.so.1 ;;
  esac
  local interp needed glibc gcc malloc
  interp=$(readelf -lW "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
  needed=$(readelf -dW "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  glibc=$(readelf -VW "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  gcc=$(readelf -VW "$bin" | grep -o 'GCC_[0-9][0-9.]*' | sed 's/GCC_//' | sort -uV | tail -1)
  malloc=$(readelf --dyn-syms -W "$bin" | awk '$7 == "UND" && $8 ~ /^malloc@GLIBC_/ {print $8}')
  echo "$arch: interpreter $interp; NEEDED $needed; newest GLIBC_$glibc, GCC_${gcc:-none}; $malloc"
  [ "$interp" = "$want_interp" ] || fail "$arch: interpreter $interp, not $want_interp"
  grep -qw libc.so.6 <<<"$needed" || fail "$arch: libc.so.6 is not NEEDED (static or not glibc)"
  [ -n "$malloc" ] || fail "$arch: malloc is not glibc's"
  [ "$(printf '%s\n' "$glibc" "$max_glibc" | sort -V | tail -1)" = "$max_glibc" ] ||
    fail "$arch: needs GLIBC_$glibc, above $max_glibc"
  # Every (library, version) the binary needs is defined by Debian 11's own
  # library of that name: libgcc_s's GCC_ versions too.
  local dirs=("${@:3}") file ver lib missing=0
  while read -r file ver; do
    lib=
    for d in "${dirs[@]}"; do [ -e "$d/$file" ] && { lib=$d/$file; break; }; done
    if [ -z "$lib" ]; then
      fail "$arch: needs $file, which Debian 11 does not have"; missing=1; continue
    fi
    readelf -VW "$lib" | sed -n '/Version definition/,/Version needs/p' |
      grep -q "Name: $ver\$" || {
      fail "$arch: needs $ver of $file, which Debian 11's does not define"; missing=1
    }
  done < <(readelf -VW "$bin" | awk '/Version needs section/ {on = 1; next}
    on && / File: / {for (i = 1; i <= NF; i++) if ($i == "File:") f = $(i + 1)}
    on && / Name: / {for (i = 1; i <= NF; i++) if ($i == "Name:") print f, $(i + 1)}')
  [ "$missing" -eq 1 ] || echo "$arch: every symbol version it needs is defined by Debian 11's libraries"
}

# Runs inside the namespace: the x86_64 archive in the Debian 11 userland.
ns_verify_x86_64() {
  local r=$build/bullseye archive=$1
  mnt "$r/proc" -t proc proc
  mnt "$r/sys" --rbind /sys
  mnt "$r/dev" --rbind /dev
  mnt "$r/tmp" -t tmpfs -o mode=1777 tmp
  tar -C "$r/tmp" -xzf "$archive"
  local lab
  lab=/tmp/$(basename "$archive" .tar.gz)/lab
  # As a student runs it: not root (nobody), a fresh home and lab cache.
  student() {
    chroot --userspec=65534:65534 "$r" env -i PATH="$path" HOME=/tmp/home LANG=C.UTF-8 \
      PMAP_LAB_CACHE_DIR=/tmp/lab-cache "$@"
  }
  local rc=0
  student "$lab" --version || rc=1
  student "$lab" list >/dev/null || rc=1
  # 125: not an exit status of lab's own
  [ "$rc" -eq 0 ] || { echo "release.sh: lab does not start in Debian 11" >&2; return 125; }
  echo "-- lab check heap mmap, as nobody (Debian $(cat "$r/etc/debian_version"), $(run_in "$r" ldd --version | head -1))"
  student "$lab" check heap mmap --color never
}

verify_x86_64() {
  local archive=$1 rc=0 log=$build/logs/verify-x86_64.log
  say "x86_64: the archive in Debian 11 (log: $log)"
  unshare -m --propagation private "$self" --ns ns_verify_x86_64 "$archive" 2>&1 | tee "$log" ||
    rc=${PIPESTATUS[0]}
  case $rc in
    0) ;;
    125) fail "x86_64: lab does not start in Debian 11 ($log)" ;;
    *) fail "x86_64: lab check heap mmap exits $rc in Debian 11 ($log)" ;;
  esac
}

verify_aarch64() {
  local archive=$1 log=$build/logs/verify-aarch64.log
  local q=(qemu-aarch64-static -L "$sysroot")
  local t
  t=$(mktemp -d)
  tar -C "$t" -xzf "$archive"
  local lab
  lab=$t/$(basename "$archive" .tar.gz)/lab
  say "aarch64: the archive under qemu-user with Debian 11's arm64 glibc (log: $log)"
  {
    "${q[@]}" "$lab" --version &&
      "${q[@]}" "$lab" list >/dev/null &&
      "${q[@]}" "$lab" pmap -x $$ | tail -3 &&
      "${q[@]}" "$lab" explain $$ --color never | head -5 &&
      "${q[@]}" "$sysroot/lib/aarch64-linux-gnu/libc.so.6" | head -1
  } 2>&1 | tee "$log" || fail "aarch64: lab under qemu-user ($log)"
  # A newer glibc too: Debian 13's arm64 libc6, in the cross root.
  local n=(qemu-aarch64-static -L "$build/trixie-cross")
  {
    "${n[@]}" "$build/trixie-cross/lib/aarch64-linux-gnu/libc.so.6" | head -1 &&
      "${n[@]}" "$lab" --version &&
      "${n[@]}" "$lab" pmap -x $$ | tail -1
  } 2>&1 | tee -a "$log" || fail "aarch64: lab under qemu-user with Debian 13's glibc ($log)"
  rm -rf "$t"
}

# ------------------------------------------------------------ the run --
if [ "${1:-}" = --ns ]; then # internal: FUNC ARGS... inside `unshare -m`
  shift
  "$@"
  exit
fi

verify=true
archs=()
for a in "$@"; do
  case $a in
    --no-verify) verify=false ;;
    x86_64 | aarch64) archs+=("$a") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $a (x86_64, aarch64, --no-verify)" ;;
  esac
done
[ ${#archs[@]} -gt 0 ] || archs=(x86_64 aarch64)

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount, unshare)"
command -v cargo >/dev/null || die "needs cargo here, to vendor the crates"
command -v readelf >/dev/null || die "needs readelf (apt-get install binutils)"
mkdir -p "$build/logs" "$dist"
exec 9>"$build/release.lock"
flock -n 9 || die "another release.sh is running on $build"

vendor
ensure_root bullseye "$build/bullseye" # the x86_64 build's userland, and the sysroot's keyring

for arch in "${archs[@]}"; do
  name=lab-$version-$arch-linux-gnu
  case $arch in
    x86_64)
      toolchain=${RELEASE_TOOLCHAIN:-$(rustc --print sysroot)}
      [ -x "$toolchain/bin/cargo" ] || die "no cargo in $toolchain (set RELEASE_TOOLCHAIN)"
      timed_build x86_64 unshare -m --propagation private "$self" --ns ns_build_x86_64 "$toolchain"
      bin=$build/target-x86_64/release/lab
      check_elf x86_64 "$bin" "$build/bullseye/lib/x86_64-linux-gnu" "$build/bullseye/lib64"
      package x86_64 "$bin" env
      $verify && verify_x86_64 "$dist/$name.tar.gz"
      ;;
    aarch64)
      command -v qemu-aarch64-static >/dev/null ||
        die "needs qemu-aarch64-static (apt-get install qemu-user-static)"
      ensure_sysroot
      ensure_cross_root
      timed_build aarch64 unshare -m --propagation private "$self" --ns ns_build_aarch64
      bin=$build/target-aarch64/aarch64-unknown-linux-gnu/release/lab
      check_elf aarch64 "$bin" "$sysroot/lib/aarch64-linux-gnu" "$sysroot/lib"
      package aarch64 "$bin" qemu-aarch64-static -L "$sysroot"
      $verify && verify_aarch64 "$dist/$name.tar.gz"
      ;;
  esac
done

echo
(cd "$dist" && ls -l lab-"$version"-*.tar.gz* && cat lab-"$version"-*.sha256)
if [ ${#failed[@]} -gt 0 ]; then
  echo "release.sh: ${#failed[@]} check(s) failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
