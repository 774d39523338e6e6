#!/usr/bin/env bash
# Builds the Linux kernel's own zero-copy senders as "outside clients" for zctrace's tests.
#
# Why: zctrace's bundled workloads (workloads) are written by us, so a bug in how we
# use MSG_ZEROCOPY or io_uring SEND_ZC could hide the same bug in zctrace. The kernel's
# selftests tools/testing/selftests/net/msg_zerocopy.c and io_uring_zerocopy_tx.c are
# correct senders written by the kernel developers. None of their source is committed here:
# this script builds them at set-up time from Debian's linux-source-6.1 package.
#
# Usage: scripts/outside-senders.sh
#   stdout: the two binary paths, one a line (msg_zerocopy first); stderr: what it does.
#   ZCTRACE_OUTSIDE_CACHE   cache dir (default /var/tmp/zctrace-outside; shared by clones)
#   ZCTRACE_OUTSIDE_REBUILD=1   rebuild even when the cached binaries are up to date
#   ZCTRACE_OUTSIDE_MAX_BLOCKS  xz blocks the fast extraction may decode (default 8)
# Cache layout: $CACHE/bin/{msg_zerocopy,io_uring_zerocopy_tx}, $CACHE/src/ (the extracted
# .c and the .sh that drive them upstream), $CACHE/SOURCE (package version, how extracted).
# Rebuilt when a binary is missing or older than /usr/src/linux-source-6.1.tar.xz.
#
# Extraction: the .tar.xz is 132 MB (1.3 GB of tar). Decompressing all of it takes ~11-14 s
# here (xz 5.4.1 does not decompress it on two threads), even with tar --occurrence, since
# the members sit at 99% of the archive. The file has 55 independent xz blocks, so the fast
# path decodes only the last blocks (raw LZMA2 with the filter `xz --robot -lvv` lists),
# going backwards until the wanted tar headers are found (blocks 54-55, ~28 MB, well under
# a second), and starts tar at the first wanted 512-aligned header. Any failure there
# falls back to tar -xJf on the whole file.
# Both programs include only libc and uapi headers; the system's (linux-libc-dev 6.1) work,
# so no kselftest.h and no kernel headers tree are needed. io_uring_zerocopy_tx has its own
# raw io_uring syscall wrappers: it uses <linux/io_uring.h>, not liburing.
#
# Running them over loopback TCP (scripts/outside-run.sh does this; port default 8000, -p):
#   receiver (both):  msg_zerocopy -4|-6 [-C 0] -p PORT -D 127.0.0.1|::1 -t SECS+2 -r tcp
#   msg_zerocopy:     msg_zerocopy -4|-6 [-C 1] -p PORT -D 127.0.0.1|::1 -z -t SECS tcp
#                     (stderr at the end: "tx=SENDS (MB MB) txc=COMPLETIONS zc=y|n")
#   io_uring:         io_uring_zerocopy_tx -4|-6 -p PORT -D 127.0.0.1|::1 -t SECS tcp
#                     (default -m 2: SEND_ZC from a registered buffer, batches of -n 8;
#                     stderr: "tx=SENDS (MB=MB), tx/s=N (MB/s=N)"; no completion count)
#   -t N runs N s + 200 ms (io_uring_zerocopy_tx -t 0 dies of SIGFPE: it divides by N).
#   Payload: 65435 bytes a send (-s). The receiver exits 400 ms after the sender's -t
#   ends; if it closes first the sender dies (EPIPE), so give it a longer -t and kill it
#   once the sender is done. Without -C msg_zerocopy warns "cpu: unable to pin" (its
#   default -1 is not a CPU; harmless). -C pins like the selftests do, but halved the rate
#   on this busy 2-CPU machine. Over loopback the kernel copies the pinned pages on
#   delivery, so completions report "copied": zc=n is expected.
#   As root no sysctl or ulimit is needed (net.core.optmem_max 20480 and 131072 both work;
#   1000 gives "send: No buffer space available"). Non-root: ulimit -l 8192 works, 64 KB
#   makes both fail (ENOBUFS; io_uring buffer registration -ENOMEM).
set -euo pipefail

say() { echo "outside-senders: $*" >&2; }

CACHE=${ZCTRACE_OUTSIDE_CACHE:-/var/tmp/zctrace-outside}
TARBALL=/usr/src/linux-source-6.1.tar.xz
TOP=linux-source-6.1
DIR=tools/testing/selftests/net
PROGS=(msg_zerocopy io_uring_zerocopy_tx)
# Tar members wanted (any order).
MEMBERS=()
for p in "${PROGS[@]}"; do MEMBERS+=("$TOP/$DIR/$p.c" "$TOP/$DIR/$p.sh"); done

uptodate() {
  [ -n "${ZCTRACE_OUTSIDE_REBUILD:-}" ] && return 1
  local p
  for p in "${PROGS[@]}"; do
    [ -x "$CACHE/bin/$p" ] && [ "$CACHE/bin/$p" -nt "$TARBALL" ] || return 1
  done
}

report() {
  local p
  for p in "${PROGS[@]}"; do
    say "$p: $CACHE/bin/$p"
    echo "$CACHE/bin/$p"
  done
}

# Quick exit, without the lock, when everything is built.
if [ -f "$TARBALL" ] && uptodate; then
  say "up to date in $CACHE"
  report
  exit 0
fi

# Debian packages: the kernel source, a compiler and the libc/uapi headers.
apt_install() {
  local need=("$@")
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  say "installing Debian packages: ${need[*]}"
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    say "install failed; running apt-get update and trying again"
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}
need=()
[ -f "$TARBALL" ] || need+=(linux-source-6.1)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/stdio.h ] || need+=(libc6-dev)
[ -e /usr/include/linux/io_uring.h ] || need+=(linux-libc-dev)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
[ -f "$TARBALL" ] || { say "$TARBALL still missing after installing linux-source-6.1"; exit 1; }

mkdir -p "$CACHE"
# One builder at a time (tests may start several clones at once).
exec 9>"$CACHE/.lock"
flock 9
if uptodate; then
  say "built meanwhile by another process"
  report
  exit 0
fi

work=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Fast path: decode blocks from the end until every wanted header is in what was decoded.
fast_extract() {
  local list nblocks b i off hdr csz usz filt found m pos start
  list=$(xz --robot -lvv "$TARBALL") || return 1
  nblocks=$(awk -F'\t' '$1=="block"' <<<"$list" | wc -l)
  [ "$nblocks" -ge 1 ] || return 1
  : >"$work/parts"
  for ((b = nblocks, i = 0; b >= 1 && i < ${ZCTRACE_OUTSIDE_MAX_BLOCKS:-8}; b--, i++)); do
    # columns: block stream n-in-stream n-in-file comp-off uncomp-off total uncomp ratio
    #          check checkval header-size flags comp-size memusage filters
    read -r off hdr csz usz filt < <(awk -F'\t' -v b="$b" \
      '$1=="block" && $4==b {print $5, $12, $14, $8, $16}' <<<"$list")
    [[ $filt == --lzma2=* ]] || return 1
    dd if="$TARBALL" iflag=skip_bytes,count_bytes skip=$((off + hdr)) count="$csz" \
      bs=1M status=none | xz -dc --format=raw "$filt" >"$work/blk.$b" || return 1
    [ "$(stat -c %s "$work/blk.$b")" -eq "$usz" ] || return 1
    echo "$work/blk.$b" >>"$work/parts"
    found=1
    for m in "${MEMBERS[@]}"; do
      grep -qaF "$m" "$work/blk.$b" && touch "$work/has.${m##*/}"
      [ -e "$work/has.${m##*/}" ] || found=0
    done
    [ "$found" -eq 1 ] && break
  done
  [ "${found:-0}" -eq 1 ] || return 1
  # Blocks b..last, in order; tar starts at the first wanted header (512-aligned).
  tac "$work/parts" | xargs cat >"$work/tail.tar"
  rm -f "$work"/blk.*
  start=
  for m in "${MEMBERS[@]}"; do
    pos=$(grep -obaF "$m" "$work/tail.tar" | awk -F: '$1 % 512 == 0 && !p {print $1; p = 1}')
    [ -n "$pos" ] || return 1
    if [ -z "$start" ] || [ "$pos" -lt "$start" ]; then start=$pos; fi
  done
  # Into a file, not a pipe: tar stops reading at the end-of-archive blocks, which would
  # kill the writer with SIGPIPE.
  dd if="$work/tail.tar" of="$work/part.tar" iflag=skip_bytes skip="$start" bs=1M status=none \
    || return 1
  rm -f "$work/tail.tar"
  tar -xf "$work/part.tar" -C "$work/x" "${MEMBERS[@]}" || return 1
  rm -f "$work/part.tar"
  say "decoded the last $((nblocks - b + 1)) of $nblocks xz blocks"
}

say "extracting ${PROGS[*]} sources from $TARBALL"
t0=$(date +%s.%N)
mkdir -p "$work/x"
how=fast
if ! fast_extract; then
  say "block-wise extraction failed; decompressing the whole archive"
  how=full
  rm -rf "$work/x" "$work"/blk.* "$work"/*.tar
  mkdir -p "$work/x"
  tar -xJf "$TARBALL" -C "$work/x" "${MEMBERS[@]}"
fi
for m in "${MEMBERS[@]}"; do [ -s "$work/x/$m" ] || { say "missing after extraction: $m"; exit 1; }; done
t1=$(date +%s.%N)
say "extracted ($how) in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"

mkdir -p "$work/bin"
for p in "${PROGS[@]}"; do
  # The flags of the selftests' Makefile, less its -I of a built kernel tree.
  say "building $p"
  gcc -Wall -Wl,--no-as-needed -O2 -g -o "$work/bin/$p" "$work/x/$TOP/$DIR/$p.c"
done
t2=$(date +%s.%N)
say "built in $(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}') s"

# Move into place: sources first, binaries last (their mtime marks a complete build).
rm -rf "$CACHE/src"
mkdir -p "$CACHE/src" "$CACHE/bin"
cp "$work/x/$TOP/$DIR"/* "$CACHE/src/"
{
  echo "package linux-source-6.1 $(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || echo unknown)"
  echo "tarball $TARBALL"
  echo "extraction $how"
  echo "members ${MEMBERS[*]}"
} >"$CACHE/SOURCE"
for p in "${PROGS[@]}"; do mv -f "$work/bin/$p" "$CACHE/bin/$p"; done
report
