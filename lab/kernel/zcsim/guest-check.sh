#!/bin/sh
# Runs inside the lab guest booted from the lab kernel (lab/kernel/check.sh starts it through
# lab/run). Checks the port (kallsyms, BTF), then, for each fault mode: receiver, insmod zcsim,
# bpftrace on the callbacks, one run, /proc/zcsim, rmmod, and a summary by analyze.py.
# usage: guest-check.sh ZCSIM_KO
# env: MODES (none leak underflow early_free), COUNT (4), PAGES (4), PORT (5001), WAIT_MS (5000),
#      KEEP=dir (keep the raw outputs there), and to make lo behave like a NIC without offloads:
#      LO_MTU=1500, LO_OFFLOAD_OFF=1 (ethtool -K lo tso/gso/gro off), NETEM="loss 2% delay 1ms";
#      SKB_DEFER_MAX=0 (sysctl net.core.skb_defer_max: 0 = free read skbs at once instead of
#      deferring them to the allocating CPU, which can hold a command's pages for seconds)
set -u
KO=${1:?usage: guest-check.sh ZCSIM_KO}
HERE=$(cd "$(dirname "$0")" && pwd)
MODES=${MODES:-"none leak underflow early_free"}
COUNT=${COUNT:-4}
PAGES=${PAGES:-4}
PORT=${PORT:-5001}
WAIT_MS=${WAIT_MS:-5000}
OUT=${KEEP:-$(mktemp -d)}
mkdir -p "$OUT"
rc=0

echo "== kernel $(uname -r)"
grep -q '^CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION=y' /proc/config.gz 2>/dev/null ||
  zcat /proc/config.gz 2>/dev/null | grep '^CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION='
echo "== kallsyms"
grep -wE 'net_get_page_callback|net_put_page_callback|net_set_get_put_page_callbacks' /proc/kallsyms || { echo "MISSING kallsyms"; rc=1; }
echo "== BTF: struct page"
if command -v bpftool >/dev/null; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format raw |
    awk '/^\[[0-9]+\] STRUCT .page. size=/ {p=1; print; next} p && /^\[/ {exit} p' > "$OUT/btf-page.txt"
  head -1 "$OUT/btf-page.txt"; grep net_priv "$OUT/btf-page.txt" || { echo "MISSING net_priv in BTF"; rc=1; }
fi
bpftrace -lv 'struct page' 2>/dev/null | grep -E 'net_priv|^struct page' | head -3

[ -z "${LO_MTU:-}" ] || ip link set lo mtu "$LO_MTU"
[ -z "${LO_OFFLOAD_OFF:-}" ] || ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || echo "ethtool -K lo failed"
[ -z "${SKB_DEFER_MAX:-}" ] || sysctl -qw net.core.skb_defer_max="$SKB_DEFER_MAX"
[ -z "${NETEM:-}" ] || tc qdisc replace dev lo root netem $NETEM || echo "tc netem failed"
echo "== lo: mtu $(cat /sys/class/net/lo/mtu), $(ethtool -k lo 2>/dev/null | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload):' | tr '\n' ' ')qdisc: $(tc qdisc show dev lo | head -1), skb_defer_max $(cat /proc/sys/net/core/skb_defer_max)"

for mode in $MODES; do
  echo "== fault=$mode (count=$COUNT pages=$PAGES)"
  python3 "$HERE/recv.py" "$PORT" > "$OUT/recv.$mode" 2>&1 &
  rp=$!
  i=0; until grep -q listening "$OUT/recv.$mode" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
  insmod "$KO" port="$PORT" count="$COUNT" pages="$PAGES" fault="$mode" wait_ms="$WAIT_MS" || { echo "insmod failed"; rc=1; kill $rp; continue; }
  bpftrace "$HERE/zcsim-trace.bt" > "$OUT/bt.$mode" 2>&1 &
  bp=$!
  t0=$(date +%s)
  until grep -q Attaching "$OUT/bt.$mode" 2>/dev/null; do
    sleep 0.5
    if [ $(( $(date +%s) - t0 )) -gt 180 ]; then echo "bpftrace did not attach"; cat "$OUT/bt.$mode"; break; fi
  done
  echo "bpftrace attached after $(( $(date +%s) - t0 ))s"
  sleep 1
  if echo run > /proc/zcsim; then echo "run: ok"; else echo "run: FAILED"; rc=1; fi
  sleep 2
  [ -z "${SKB_DEFER_MAX:-}" ] || sysctl -qw net.core.skb_defer_max="$SKB_DEFER_MAX"
[ -z "${NETEM:-}" ] || sleep 3
  cat /proc/zcsim > "$OUT/proc.$mode"
  kill -INT $bp; wait $bp
  rmmod zcsim || { echo "rmmod failed"; rc=1; }
  kill $rp 2>/dev/null; wait $rp 2>/dev/null
  sed 's/^/  proc: /' "$OUT/proc.$mode"
  sed 's/^/  recv: /' "$OUT/recv.$mode"
  dmesg | grep 'zcsim:' | grep -E 'fault=|reaped|underflow|unloaded|EARLY' | tail -n 6 | sed 's/^/  dmesg: /'
  python3 "$HERE/analyze.py" "$OUT/bt.$mode" "$OUT/proc.$mode" | sed 's/^/  /'
  dmesg -C 2>/dev/null
done
echo "== outputs in $OUT"
dmesg | grep -iE 'BUG|WARNING|Oops|net_priv' | head
exit $rc
