#!/usr/bin/env bash
# Runs one of the kernel's own zero-copy senders (built by scripts/outside-senders.sh from
# Debian's linux-source-6.1) against its receiver over loopback TCP, at full speed, so that
# tests can trace a correct sender that is not ours.
#
# Usage: scripts/outside-run.sh PROGRAM FAMILY SECONDS
#   PROGRAM  msg_zerocopy (sendmsg MSG_ZEROCOPY) | io_uring_zerocopy_tx (IORING_OP_SEND_ZC)
#   FAMILY   4 (127.0.0.1) | 6 (::1)
#   SECONDS  whole seconds >= 1, the selftests' -t (their send loop runs SECONDS + 0.2 s)
# Steps: build if needed; start the receiver (msg_zerocopy -r tcp, bound to the loopback
# address on a free port); wait until it listens; run the sender; kill the receiver (it
# would otherwise idle until its own -t, longer than the sender's: see outside-senders.sh).
# stderr: "listening PORT (receiver pid N)", then "started PID" as soon as the sender's
# process exists (printed by it before it execs the program, so the pid is the sender's),
# then the sender's own output prefixed "sender: ".
# stdout, last line, one JSON object:
#   program, family, port  what ran, and the TCP port of the receiver
#   sender_pid   the sender's pid (as in "started")
#   sends        the sender's tx=: send calls that succeeded (msg_zerocopy: sendmsg with
#                MSG_ZEROCOPY; io_uring: SEND_ZC requests with res >= 0)
#   completions  msg_zerocopy's txc=: zero-copy completions it read from the error queue
#                (equal to sends when none is missing); null for io_uring_zerocopy_tx,
#                which prints no count: it exits 0 only after every notification CQE came
#   zerocopy     msg_zerocopy's zc=: true when completions said the pages went out
#                uncopied; false over loopback, where the kernel copies them on delivery;
#                null for io_uring_zerocopy_tx (it does not say)
#   mb           MiB the sender sent (its own count, rounded down)
#   exit         the sender's exit status (128+N: killed by signal N)
#   seconds      SECONDS as asked
#   elapsed_s    wall time from starting the sender's process to its exit, less
#                ZCTRACE_OUTSIDE_START_DELAY
#   sends_per_s  sends / (SECONDS + 0.2), the length of the sender's send loop
# Exit status: the sender's; 2 when it could not be run (usage, build, receiver).
# Environment:
#   ZCTRACE_OUTSIDE_PORT         receiver port (default: a free one in 20000-59999)
#   ZCTRACE_OUTSIDE_START_DELAY  seconds between "started PID" and the exec of the sender
#                                (default 0), time for a caller to attach a tracer by pid
#   ZCTRACE_OUTSIDE_SENDER_ARGS  more sender options, e.g. "-s 4096" (payload bytes) or,
#                                for io_uring_zerocopy_tx, "-m 1" (SEND_ZC without a
#                                registered buffer; default -m 2 uses one) or "-n 32"
#   ZCTRACE_OUTSIDE_PIN=1        pin msg_zerocopy to CPUs with -C, as the selftests do
#   ZCTRACE_OUTSIDE_CACHE        where outside-senders.sh keeps the binaries
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "outside-run: $*" >&2; exit 2; }
[ $# -eq 3 ] || die "usage: $0 msg_zerocopy|io_uring_zerocopy_tx 4|6 SECONDS"
prog=$1 fam=$2 secs=$3
case "$prog" in msg_zerocopy | io_uring_zerocopy_tx) ;; *) die "unknown program: $prog" ;; esac
case "$fam" in 4) addr=127.0.0.1 procnet=/proc/net/tcp ;; 6) addr=::1 procnet=/proc/net/tcp6 ;;
  *) die "family must be 4 or 6: $fam" ;; esac
# At least 1: io_uring_zerocopy_tx divides by the whole seconds of its run time, and dies
# of SIGFPE with -t 0.
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number >= 1: $secs"
if [ "$fam" = 6 ] && ! grep -qs '^0\{31\}1 .* lo$' /proc/net/if_inet6; then
  die "IPv6 loopback (::1 on lo) is not available"
fi

bins=$("$here/outside-senders.sh") || die "could not build the outside senders"
rx_bin=$(sed -n 1p <<<"$bins")
tx_bin=$(grep "/$prog\$" <<<"$bins") || die "outside-senders.sh gave no $prog"

# Is a TCP port in use (any state, IPv4 or IPv6)?
port_used() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p="$hex" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == p) f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port=${ZCTRACE_OUTSIDE_PORT:-}
if [ -z "$port" ]; then
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    port_used "$port" || break
    port=
  done
  [ -n "$port" ] || die "no free TCP port found"
fi

tmp=$(mktemp -d)
rpid='' spid=''
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -z "$spid" ] || kill "$spid" 2>/dev/null || true
  [ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Pinning (msg_zerocopy -C, as the selftests do: receiver on the first CPU, sender on the
# last) only with ZCTRACE_OUTSIDE_PIN=1: on a busy 2-CPU machine it halved the send rate.
# Unpinned, msg_zerocopy warns "cpu: unable to pin, may increase variance." (harmless: its
# default CPU -1 makes sched_setaffinity fail and leaves the affinity alone).
# io_uring_zerocopy_tx has no -C.
rx_pin=() tx_pin=()
if [ "${ZCTRACE_OUTSIDE_PIN:-}" = 1 ]; then rx_pin=(-C 0) tx_pin=(-C $(($(nproc) - 1))); fi
# The receiver's -t counts from its accept; 2 s more than the sender so it never closes
# first (the sender would die of EPIPE). It is killed when the sender is done.
"$rx_bin" "-$fam" "${rx_pin[@]}" -p "$port" -D "$addr" -t $((secs + 2)) -r tcp 2>"$tmp/rx.err" &
rpid=$!
# Listening: a LISTEN socket on the port in $procnet whose inode is one of the receiver's fds
# (not someone else's socket on a port given by ZCTRACE_OUTSIDE_PORT).
rx_listening() {
  local hex inodes
  hex=$(printf '%04X' "$port")
  inodes=$(find "/proc/$rpid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n')
  [ -n "$inodes" ] || return 1
  awk -v p="$hex" 'FNR == NR { own[$1] = 1; next }
    FNR > 1 { n = split($2, a, ":"); if (a[n] == p && $4 == "0A" && ($10 in own)) f = 1 }
    END { exit !f }' <(echo "$inodes") "$procnet"
}
for _ in $(seq 100); do
  rx_listening && break
  kill -0 "$rpid" 2>/dev/null || { cat "$tmp/rx.err" >&2; die "receiver exited before listening"; }
  sleep 0.05
done
rx_listening || die "receiver not listening on port $port after 5 s"
echo "listening $port (receiver pid $rpid)" >&2

args=("-$fam" -p "$port" -D "$addr" -t "$secs")
[ "$prog" = msg_zerocopy ] && args+=("${tx_pin[@]}" -z)
# shellcheck disable=SC2206 # word splitting wanted
[ -z "${ZCTRACE_OUTSIDE_SENDER_ARGS:-}" ] || args+=($ZCTRACE_OUTSIDE_SENDER_ARGS)
args+=(tcp)
delay=${ZCTRACE_OUTSIDE_START_DELAY:-0}
t0=$(date +%s.%N)
(
  echo "started $BASHPID" >&2
  [ "$delay" = 0 ] || sleep "$delay"
  exec "$tx_bin" "${args[@]}" 2>"$tmp/tx.err"
) &
spid=$!
rc=0
wait "$spid" || rc=$?
t1=$(date +%s.%N)
sender_pid=$spid
spid=
kill "$rpid" 2>/dev/null || true
wait "$rpid" 2>/dev/null || true
rpid=
sed 's/^/sender: /' "$tmp/tx.err" >&2

# The sender's summary line (stderr), e.g.
#   msg_zerocopy:          tx=79365 (4952 MB) txc=79365 zc=n
#   io_uring_zerocopy_tx:  tx=192688 (MB=12024), tx/s=96344 (MB/s=6012)
sends=null completions=null zerocopy=null mb=null
if [ "$prog" = msg_zerocopy ]; then
  line=$(grep -E '^tx=[0-9]+ \([0-9]+ MB\) txc=[0-9]+ zc=[yn]' "$tmp/tx.err" | tail -n 1 || true)
  if [ -n "$line" ]; then
    read -r sends mb completions zc < <(sed -E 's/^tx=([0-9]+) \(([0-9]+) MB\) txc=([0-9]+) zc=([yn]).*/\1 \2 \3 \4/' <<<"$line")
    if [ "$zc" = y ]; then zerocopy=true; else zerocopy=false; fi
  fi
else
  line=$(grep -E '^tx=[0-9]+ \(MB=[0-9]+\)' "$tmp/tx.err" | tail -n 1 || true)
  if [ -n "$line" ]; then
    read -r sends mb < <(sed -E 's/^tx=([0-9]+) \(MB=([0-9]+)\).*/\1 \2/' <<<"$line")
  fi
fi
elapsed=$(awk -v a="$t0" -v b="$t1" -v d="$delay" 'BEGIN { printf "%.3f", b - a - d }')
rate=null
[ "$sends" = null ] || rate=$(awk -v n="$sends" -v s="$secs" 'BEGIN { printf "%d", n / (s + 0.2) }')
printf '{"program":"%s","family":%s,"port":%s,"sender_pid":%s,"sends":%s,"completions":%s,"zerocopy":%s,"mb":%s,"exit":%s,"seconds":%s,"elapsed_s":%s,"sends_per_s":%s}\n' \
  "$prog" "$fam" "$port" "$sender_pid" "$sends" "$completions" "$zerocopy" "$mb" "$rc" "$secs" "$elapsed" "$rate"
exit "$rc"
