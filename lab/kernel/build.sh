#!/usr/bin/env bash
# lab/kernel/build.sh — build the zctrace lab kernel (Debian's linux-source-6.1 + the TCP zero-copy
# completion notification port in patches/) and the lab modules (zcsim, zctarget), with a cache.
#
# Usage: lab/kernel/build.sh [--env] [--kernel-only] [--force]
#   --env          print only shell assignments on stdout (LAB_KERNEL=..., ZCSIM_KO=..., ...),
#                  for: eval "$(lab/kernel/build.sh --env)"
#   --kernel-only  do not build the modules
#   --force        ignore the output cache (the object tree is still reused: incremental rebuild)
#   --cached       never build the kernel: exit 3 (with a message) when it is not in the cache
#                  yet; the modules are still built when missing (seconds). For tests that must not start
#                  a kernel build.
# Environment:
#   ZCTRACE_LAB_CACHE     cache root (default: /var/tmp/zctrace-lab-cache, outside the clone, so
#                         every clone on this machine reuses one build); everything lands below it
#   ZCTRACE_KSRC_VERSION  linux-source-6.1 version to use (default: apt's candidate)
#   ZCTRACE_KCONFIG       the config fragment (default: lab/kernel/config.fragment)
#   JOBS                  make -j (default: nproc);  NICE: nice level (default 19)
#
# Cache layout (under $ZCTRACE_LAB_CACHE):
#   dl/                           the linux-source .deb
#   kernel-src-<ver>/             pristine unpacked source (never modified)
#   kernel-work-<ver>/            hard-linked copy of it with the patches applied
#   kernel-build-<ver>/           object tree (make O=...), reused across patch/config changes
#   kernel-out/<ver>-<key>/       bzImage, config, System.map, build-time.txt  (key = hash of
#                                 patches + config.fragment): a second run with the same key is instant
#   kernel-out/<ver>-<key>/modules-<zkey>/{zcsim,zctarget}.ko  (zkey = hash of their sources)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$HERE")
CACHE=${ZCTRACE_LAB_CACHE:-/var/tmp/zctrace-lab-cache}
JOBS=${JOBS:-$(nproc)}
NICE=${NICE:-19}
SRCPKG=linux-source-6.1
# allnoconfig + the fragment as KCONFIG_ALLCONFIG: only what the guest needs is built
# (x86_64_defconfig + a fragment took 28-42 min here; see README.md for the measured costs)
BASECONFIG=allnoconfig
FRAGMENT=${ZCTRACE_KCONFIG:-$HERE/config.fragment}

ENV_ONLY=0 KERNEL_ONLY=0 FORCE=0 CACHED=0
for a in "$@"; do
  case "$a" in
    --env) ENV_ONLY=1 ;;
    --kernel-only) KERNEL_ONLY=1 ;;
    --force) FORCE=1 ;;
    --cached) CACHED=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
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
KEY=$( { echo "base=$BASECONFIG"; cat "${PATCHES[@]}" "$FRAGMENT"; } | sha256sum | cut -c1-12)
# the lab's modules, the two owners of the callbacks: zcsim and zctarget (built with M=, out of tree)
MODS=(zcsim zctarget)
ZKEY=none
[ "$KERNEL_ONLY" = 1 ] || ZKEY=$(cd "$HERE" && for m in "${MODS[@]}"; do cat "$m/$m.c" "$m/Kbuild" "$m/Makefile"; done | sha256sum | cut -c1-12)

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
ZOUT="$OUT/modules-$ZKEY"

emit() {
  local ko=""
  [ "$KERNEL_ONLY" = 1 ] || ko="$ZOUT/zcsim.ko"
  if [ "$ENV_ONLY" = 1 ]; then
    echo "LAB_KERNEL=$OUT/bzImage"
    [ -n "$ko" ] && echo "ZCSIM_KO=$ko" && echo "ZCTARGET_KO=$ZOUT/zctarget.ko"
    echo "LAB_KERNEL_CONFIG=$OUT/config"
    echo "LAB_KERNEL_VERSION=$(cat "$OUT/kernelrelease" 2>/dev/null)"
    echo "LAB_KERNEL_OBJ=$CACHE/kernel-build-$VER"
  else
    echo "bzImage:  $OUT/bzImage"
    [ -n "$ko" ] && echo "zcsim.ko: $ko" && echo "zctarget.ko: $ZOUT/zctarget.ko"
    echo "config:   $OUT/config"
    echo "release:  $(cat "$OUT/kernelrelease" 2>/dev/null)  (source $SRCPKG $VER, key $KEY)"
    echo "vmlinux:  $CACHE/kernel-build-$VER/vmlinux"
  fi
}

have_kernel() { [ "$FORCE" = 0 ] && [ -s "$OUT/bzImage" ] && [ -s "$OUT/config" ]; }
have_zcsim() { [ "$KERNEL_ONLY" = 1 ] || { [ "$FORCE" = 0 ] && [ -s "$ZOUT/zcsim.ko" ] && [ -s "$ZOUT/zctarget.ko" ]; }; }
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
  # wait for the dpkg lock rather than fail when another apt-get holds it (CI's set-up)
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_pkgs[@]}" >&2 ||
    { apt-get -o DPkg::Lock::Timeout=600 update -qq >&2; apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_pkgs[@]}" >&2; }
fi

# ---------------------------------------------------------------- source: download + unpack (once per version)
SRC="$CACHE/kernel-src-$VER"
tp=$(now)
if [ ! -e "$SRC/.unpacked" ] && [ -s "/usr/src/$SRCPKG.tar.xz" ] &&
   [ "$(dpkg-query -W -f='${Status} ${Version}' "$SRCPKG" 2>/dev/null)" = "install ok installed $VER" ]; then
  # scripts/setup.sh installs this package (the selftests are built from it): no download
  log "unpacking the installed /usr/src/$SRCPKG.tar.xz ($VER)"
  rm -rf "$SRC" "$SRC.tmp" && mkdir -p "$SRC.tmp"
  tar -C "$SRC.tmp" -xf "/usr/src/$SRCPKG.tar.xz"
  mv "$SRC.tmp/$SRCPKG" "$SRC" && rmdir "$SRC.tmp"
  touch "$SRC/.unpacked"
fi
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
[ "$(( $(now) - tp ))" -lt 2 ] || log "source ready in $(( $(now) - tp ))s"

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
  log "configuring: $BASECONFIG with $(basename "$FRAGMENT"), olddefconfig"
  KCONFIG_ALLCONFIG="$FRAGMENT" "${MAKE[@]}" "$BASECONFIG" >&2
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
done < "$FRAGMENT"
# allnoconfig turns off whatever the fragment forgets: a lost option is an error, not a warning
[ "$bad" = 0 ] || die "some fragment options did not survive olddefconfig (see above): add what they depend on"
for sym in CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION CONFIG_DEBUG_INFO_BTF CONFIG_KPROBES CONFIG_BPF_SYSCALL CONFIG_9P_FS CONFIG_OVERLAY_FS CONFIG_VIRTIO_PCI; do
  grep -qx "$sym=y" "$OBJ/.config" || die "config: $sym is not =y"
done
command -v pahole >/dev/null || die "pahole (dwarves) is missing: needed for BTF"

# ---------------------------------------------------------------- build
if [ "$FORCE" = 1 ] || [ ! -s "$OUT/bzImage" ]; then
  log "building bzImage + modules with -j$JOBS at nice $NICE (first build: about 1670 s of CPU, 14-15 minutes on 2 idle cores)"
  tk=$(now)
  "${MAKE[@]}" bzImage modules >&2 || die "kernel build failed (object tree: $OBJ)"
  tk=$(( $(now) - tk ))
  mkdir -p "$OUT"
  cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp" && mv "$OUT/bzImage.tmp" "$OUT/bzImage"
  cp "$OBJ/.config" "$OUT/config"
  cp "$OBJ/System.map" "$OUT/System.map"
  "${MAKE[@]}" kernelrelease > "$OUT/kernelrelease"
  # CPU time of the children so far (make and everything under it): steadier than wall time
  # on a shared machine (`times` in this shell: a subshell would see none of them)
  times > "$OUT/.times"
  cpu=$(sed -n 2p "$OUT/.times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); n += a[1] * 60 + a[2] } printf "%.0f", n }')
  rm -f "$OUT/.times"
  echo "kernel build: ${tk}s wall, ${cpu}s CPU (user+sys) with -j$JOBS on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(date -u +%FT%TZ))" >> "$OUT/build-time.txt"
  log "kernel built in ${tk}s (${cpu}s of CPU)"
fi

if [ "$KERNEL_ONLY" = 0 ] && { [ "$FORCE" = 1 ] || ! have_zcsim; }; then
  tz=$(now)
  mkdir -p "$ZOUT"
  for m in "${MODS[@]}"; do
    # build out of the repository so no objects land in lab/kernel/<module>
    ZB="$CACHE/$m-build"
    rm -rf "$ZB" && mkdir -p "$ZB"
    cp "$HERE/$m/$m.c" "$HERE/$m/Kbuild" "$HERE/$m/Makefile" "$ZB/"
    log "building $m.ko"
    nice -n "$NICE" make -s -C "$OBJ" M="$ZB" modules >&2 || die "$m build failed"
    cp "$ZB/$m.ko" "$ZOUT/$m.ko"
  done
  echo "modules (${MODS[*]}) build: $(( $(now) - tz ))s" >> "$OUT/build-time.txt"
fi

log "done in $(( $(now) - T0 ))s"
emit
