#!/usr/bin/env bash
# lab/kernel/build.sh — build the zctrace lab kernel (Debian's linux-source-6.1 + the TCP zero-copy
# completion notification port in patches/) and the zcsim module, with a cache.
#
# Usage: lab/kernel/build.sh [--env] [--kernel-only] [--force]
#   --env          print only shell assignments on stdout (LAB_KERNEL=..., ZCSIM_KO=..., ...),
#                  for: eval "$(lab/kernel/build.sh --env)"
#   --kernel-only  do not build zcsim
#   --force        ignore the output cache (the object tree is still reused: incremental rebuild)
#   --cached       never build the kernel: exit 3 (with a message) when it is not in the cache
#                  yet; zcsim is still built when missing (seconds). For tests that must not start
#                  a 40-minute build.
# Environment:
#   ZCTRACE_LAB_CACHE     cache root (default: lab/.cache); everything lands below it
#   ZCTRACE_KSRC_VERSION  linux-source-6.1 version to use (default: apt's candidate)
#   JOBS                  make -j (default: nproc);  NICE: nice level (default 10)
#
# Cache layout (under $ZCTRACE_LAB_CACHE):
#   dl/                           the linux-source .deb
#   kernel-src-<ver>/             pristine unpacked source (never modified)
#   kernel-work-<ver>/            hard-linked copy of it with the patches applied
#   kernel-build-<ver>/           object tree (make O=...), reused across patch/config changes
#   kernel-out/<ver>-<key>/       bzImage, config, System.map, build-time.txt  (key = hash of
#                                 patches + config.fragment): a second run with the same key is instant
#   kernel-out/<ver>-<key>/zcsim-<zkey>/zcsim.ko   (zkey = hash of the zcsim sources)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$HERE")
CACHE=${ZCTRACE_LAB_CACHE:-$LAB/.cache}
JOBS=${JOBS:-$(nproc)}
NICE=${NICE:-10}
SRCPKG=linux-source-6.1
BASECONFIG=x86_64_defconfig

ENV_ONLY=0 KERNEL_ONLY=0 FORCE=0 CACHED=0
for a in "$@"; do
  case "$a" in
    --env) ENV_ONLY=1 ;;
    --kernel-only) KERNEL_ONLY=1 ;;
    --force) FORCE=1 ;;
    --cached) CACHED=1 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

log() { echo "[kernel/build] $*" >&2; }
die() { echo "[kernel/build] error: $*" >&2; exit 1; }
now() { date +%s; }
T0=$(now)

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# ---------------------------------------------------------------- keys (cheap, no apt needed)
PATCHES=("$HERE"/patches/*.patch)
[ -e "${PATCHES[0]}" ] || die "no patches in $HERE/patches"
KEY=$( { echo "base=$BASECONFIG"; cat "${PATCHES[@]}" "$HERE/config.fragment"; } | sha256sum | cut -c1-12)
ZKEY=none
[ "$KERNEL_ONLY" = 1 ] || ZKEY=$(cd "$HERE/zcsim" && cat zcsim.c Kbuild Makefile | sha256sum | cut -c1-12)

# ---------------------------------------------------------------- source version
resolve_version() {
  if [ -n "${ZCTRACE_KSRC_VERSION:-}" ]; then echo "$ZCTRACE_KSRC_VERSION"; return; fi
  local v memo="$CACHE/kernel-src.resolved"
  # apt-cache takes about a second: keep its answer until the package lists change
  if [ -s "$memo" ] && [ "$memo" -nt /var/lib/apt/lists ] && [ "$memo" -nt /var/cache/apt/pkgcache.bin ]; then
    cat "$memo"; return
  fi
  v=$(apt-cache policy "$SRCPKG" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -n "$v" ] && [ "$v" != "(none)" ]; then echo "$v" > "$memo"; fi
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    # No package lists yet: use what is already cached, else refresh the lists.
    v=$(ls -d "$CACHE"/kernel-src-* 2>/dev/null | sed 's#.*/kernel-src-##' | sort -V | tail -1 || true)
    if [ -z "$v" ]; then
      log "apt has no candidate for $SRCPKG: running apt-get update"
      apt-get update -qq >&2 || true
      v=$(apt-cache policy "$SRCPKG" 2>/dev/null | awk '/Candidate:/ {print $2}')
    fi
  fi
  [ -n "$v" ] && [ "$v" != "(none)" ] || die "cannot resolve a version of $SRCPKG (apt-get update?)"
  echo "$v"
}
VER=$(resolve_version)
OUT="$CACHE/kernel-out/$VER-$KEY"
ZOUT="$OUT/zcsim-$ZKEY"

emit() {
  local ko=""
  [ "$KERNEL_ONLY" = 1 ] || ko="$ZOUT/zcsim.ko"
  if [ "$ENV_ONLY" = 1 ]; then
    echo "LAB_KERNEL=$OUT/bzImage"
    [ -n "$ko" ] && echo "ZCSIM_KO=$ko"
    echo "LAB_KERNEL_CONFIG=$OUT/config"
    echo "LAB_KERNEL_VERSION=$(cat "$OUT/kernelrelease" 2>/dev/null)"
    echo "LAB_KERNEL_OBJ=$CACHE/kernel-build-$VER"
  else
    echo "bzImage:  $OUT/bzImage"
    [ -n "$ko" ] && echo "zcsim.ko: $ko"
    echo "config:   $OUT/config"
    echo "release:  $(cat "$OUT/kernelrelease" 2>/dev/null)  (source $SRCPKG $VER, key $KEY)"
    echo "vmlinux:  $CACHE/kernel-build-$VER/vmlinux"
  fi
}

have_kernel() { [ "$FORCE" = 0 ] && [ -s "$OUT/bzImage" ] && [ -s "$OUT/config" ]; }
have_zcsim() { [ "$KERNEL_ONLY" = 1 ] || { [ "$FORCE" = 0 ] && [ -s "$ZOUT/zcsim.ko" ]; }; }
if have_kernel && have_zcsim; then
  log "cache hit: $SRCPKG $VER, patches+config key $KEY, zcsim key $ZKEY"
  emit
  exit 0
fi
if [ "$CACHED" = 1 ] && ! have_kernel; then
  log "the lab kernel ($SRCPKG $VER, key $KEY) is not built yet: run lab/kernel/build.sh (tens of minutes)"
  exit 3
fi

# ---------------------------------------------------------------- build dependencies
need_pkgs=()
for p in build-essential bc bison flex libelf-dev libssl-dev dwarves cpio kmod rsync xz-utils patch python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing build dependencies: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need_pkgs[@]}" >&2 || { apt-get update -qq >&2; apt-get install -y -qq "${need_pkgs[@]}" >&2; }
fi

# ---------------------------------------------------------------- source: download + unpack (once per version)
SRC="$CACHE/kernel-src-$VER"
if [ ! -e "$SRC/.unpacked" ]; then
  mkdir -p "$CACHE/dl"
  deb=$(ls "$CACHE/dl/${SRCPKG}_${VER/:/%3a}_all.deb" 2>/dev/null || true)
  if [ -z "$deb" ]; then
    log "downloading $SRCPKG=$VER"
    (cd "$CACHE/dl" && apt-get -o APT::Sandbox::User=root download "$SRCPKG=$VER" >&2) \
      || { apt-get update -qq >&2; (cd "$CACHE/dl" && apt-get -o APT::Sandbox::User=root download "$SRCPKG=$VER" >&2); }
    deb=$(ls "$CACHE/dl/${SRCPKG}_"*"_all.deb" | grep -F "_${VER/:/%3a}_" | head -1)
  fi
  log "unpacking $(basename "$deb")"
  rm -rf "$SRC" "$CACHE/dl/x"
  dpkg -x "$deb" "$CACHE/dl/x"
  mkdir -p "$SRC.tmp"
  tar -C "$SRC.tmp" -xf "$CACHE/dl/x/usr/src/$SRCPKG.tar.xz"
  mv "$SRC.tmp/$SRCPKG" "$SRC" && rmdir "$SRC.tmp"
  rm -rf "$CACHE/dl/x"
  touch "$SRC/.unpacked"
fi

# ---------------------------------------------------------------- work tree: pristine + patches
# Hard links to the pristine tree; patch(1) writes a new file for every file it changes, so the
# pristine tree is never touched. On a patch change the previous patch is reverse-applied
# (files get new mtimes, so the object tree rebuilds exactly what changed).
WORK="$CACHE/kernel-work-$VER"
WANT=$(cat "${PATCHES[@]}" | sha256sum | cut -c1-16)
if [ -e "$WORK/.zctrace-applied" ] && [ "$(cat "$WORK/.zctrace-applied")" = "$WANT" ]; then
  :
else
  if [ -e "$WORK/.zctrace-applied.patch" ] &&
     (cd "$WORK" && patch -R -p1 -s --dry-run < .zctrace-applied.patch >/dev/null 2>&1); then
    log "reverting the previously applied patches"
    (cd "$WORK" && patch -R -p1 -s < .zctrace-applied.patch)
    rm -f "$WORK/.zctrace-applied" "$WORK/.zctrace-applied.patch"
  else
    log "creating the work tree (hard links to the pristine source)"
    rm -rf "$WORK"
    cp -al "$SRC" "$WORK"
    rm -f "$WORK/.unpacked"
    # a fresh tree means the object tree's notion of mtimes is void
    rm -rf "$CACHE/kernel-build-$VER"
  fi
  for p in "${PATCHES[@]}"; do
    log "applying $(basename "$p")"
    (cd "$WORK" && patch -p1 -s --no-backup-if-mismatch < "$p") || die "patch $(basename "$p") does not apply to $SRCPKG $VER"
  done
  cat "${PATCHES[@]}" > "$WORK/.zctrace-applied.patch"
  echo "$WANT" > "$WORK/.zctrace-applied"
fi

# ---------------------------------------------------------------- configure
OBJ="$CACHE/kernel-build-$VER"
mkdir -p "$OBJ"
MAKE=(nice -n "$NICE" make -s -C "$WORK" O="$OBJ" -j"$JOBS")
if [ ! -e "$OBJ/.zctrace-config-key" ] || [ "$(cat "$OBJ/.zctrace-config-key")" != "$KEY" ] || [ ! -e "$OBJ/.config" ]; then
  log "configuring: $BASECONFIG + config.fragment, olddefconfig"
  "${MAKE[@]}" "$BASECONFIG" >&2
  (cd "$OBJ" && "$WORK/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$HERE/config.fragment" >/dev/null)
  "${MAKE[@]}" olddefconfig >&2
  echo "$KEY" > "$OBJ/.zctrace-config-key"
fi
# Check that what the guest needs really landed (olddefconfig drops what it cannot satisfy).
bad=0
while read -r line; do
  case "$line" in
    CONFIG_*=y)
      sym=${line%%=*}
      grep -qx "$sym=y" "$OBJ/.config" || { log "config: wanted $line, got: $(grep -E "^(# )?$sym[= ]" "$OBJ/.config" || echo unset)"; bad=1; } ;;
  esac
done < "$HERE/config.fragment"
[ "$bad" = 0 ] || log "warning: some fragment options did not survive olddefconfig (see above)"
for sym in CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION CONFIG_DEBUG_INFO_BTF CONFIG_KPROBES CONFIG_BPF_SYSCALL CONFIG_9P_FS CONFIG_OVERLAY_FS CONFIG_VIRTIO_PCI; do
  grep -qx "$sym=y" "$OBJ/.config" || die "config: $sym is not =y"
done
command -v pahole >/dev/null || die "pahole (dwarves) is missing: needed for BTF"

# ---------------------------------------------------------------- build
if [ "$FORCE" = 1 ] || [ ! -s "$OUT/bzImage" ]; then
  log "building bzImage + modules with -j$JOBS at nice $NICE (first build: tens of minutes)"
  tk=$(now)
  "${MAKE[@]}" bzImage modules >&2 || die "kernel build failed (object tree: $OBJ)"
  tk=$(( $(now) - tk ))
  mkdir -p "$OUT"
  cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp" && mv "$OUT/bzImage.tmp" "$OUT/bzImage"
  cp "$OBJ/.config" "$OUT/config"
  cp "$OBJ/System.map" "$OUT/System.map"
  "${MAKE[@]}" kernelrelease > "$OUT/kernelrelease"
  echo "kernel build: ${tk}s with -j$JOBS on $(nproc) cores ($(date -u +%FT%TZ))" >> "$OUT/build-time.txt"
  log "kernel built in ${tk}s"
fi

if [ "$KERNEL_ONLY" = 0 ] && { [ "$FORCE" = 1 ] || [ ! -s "$ZOUT/zcsim.ko" ]; }; then
  # build out of the repository so no objects land in lab/kernel/zcsim
  ZB="$CACHE/zcsim-build"
  rm -rf "$ZB" && mkdir -p "$ZB"
  cp "$HERE"/zcsim/zcsim.c "$HERE"/zcsim/Kbuild "$HERE"/zcsim/Makefile "$ZB/"
  log "building zcsim.ko"
  tz=$(now)
  nice -n "$NICE" make -s -C "$OBJ" M="$ZB" modules >&2 || die "zcsim build failed"
  mkdir -p "$ZOUT"
  cp "$ZB/zcsim.ko" "$ZOUT/zcsim.ko"
  echo "zcsim build: $(( $(now) - tz ))s" >> "$OUT/build-time.txt"
fi

log "done in $(( $(now) - T0 ))s"
emit
