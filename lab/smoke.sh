#!/usr/bin/env bash
# lab/smoke.sh — prove that the kernel lab works. Boots 4 guests (about a minute with TCG
# on an idle 2-core machine) and checks:
#   1. exit statuses propagate (exit 7), stdout and stderr come back exactly and apart,
#      --rw directories are written through to the host;
#   2. the guest runs the lab kernel (not the host's), kprobe:tcp_sendmsg fires on loopback
#      TCP traffic, BTF struct reads work (struct sock family/dport), kfunc (fentry) works;
#   3. `node -e 'console.log(process.version)'` runs in the guest, same node as the host's;
#   4. a guest that outlives --timeout is killed and lab/run exits 124.
# Usage: lab/smoke.sh [lab/run options, e.g. --kernel BZIMAGE --modules DIR]
# Exit status 0 when every check passes; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
PORT=7411

if [[ ${1-} == --in-guest ]]; then
	# Runs inside the guest (started by check 2 below). Prints key=value lines.
	echo "uname=$(uname -r)"
	out=$(mktemp)
	bpftrace -e '
		kprobe:tcp_sendmsg /@k == 0/ {
			$sk = (struct sock *)arg0;
			$d = $sk->__sk_common.skc_dport;
			@k = 1;
			printf("kprobe=tcp_sendmsg family=%d dport=%d\n", $sk->__sk_common.skc_family,
				(($d & 0xff) << 8) | ($d >> 8));
		}
		kfunc:tcp_sendmsg /@f == 0/ { @f = 1; printf("kfunc=tcp_sendmsg size=%d\n", args->size); }
		interval:ms:100 /@k && @f/ { clear(@k); clear(@f); exit(); }' >"$out" 2>&1 &
	bt=$!
	# bpftrace takes seconds to attach under TCG; send traffic until it has seen some.
	for _ in $(seq 1 240); do
		grep -q Attaching "$out" && break
		kill -0 $bt 2>/dev/null || break
		sleep 0.5
	done
	node -e '
		const net = require("net"), bt = +process.argv[1], t0 = Date.now();
		const alive = () => { try { process.kill(bt, 0); return true; } catch { return false; } };
		const srv = net.createServer((c) => c.resume()).listen(+process.argv[2], "127.0.0.1", () => {
			const again = () => setTimeout(tick, 300);
			const tick = () => {
				if (!alive() || Date.now() - t0 > 60000) return srv.close();
				const c = net.connect(+process.argv[2], "127.0.0.1", () => c.end("x".repeat(4096)));
				c.on("close", again).on("error", () => {});
			};
			tick();
		});' "$bt" "$PORT"
	kill $bt 2>/dev/null
	wait $bt
	echo "bpftrace_rc=$?"
	sed 's/^/bpftrace: /' "$out"
	exit 0
fi

PASS=0 FAIL=0
check() { # description, then a command that succeeds when the check passes
	local what=$1; shift
	if "$@"; then echo "ok - $what"; PASS=$((PASS + 1)); else echo "not ok - $what"; FAIL=$((FAIL + 1)); fi
}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
run() { # name, lab/run arguments...: saves .out .err .rc .time
	local name=$1 t0; shift
	t0=$(date +%s.%N)
	lab/run "${LAB_OPTS[@]}" "$@" >"$T/$name.out" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
	echo "# $name: lab/run $*: exit $(cat "$T/$name.rc"), $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
}
LAB_OPTS=("$@")
has() { grep -qE -- "$2" "$T/$1"; }

# Set-up first (may install packages and download the kernel), so that the timings below
# are per-run costs.
lab/run "$@" --setup >"$T/setup" 2>&1 || { cat "$T/setup"; echo "0 passed, 1 failed"; exit 1; }
sed 's/^/# /' "$T/setup"
kver=$(sed -n 's|^modules: *.*/||p' "$T/setup")

# 1. exit status, exact stdout/stderr, --rw
mkdir "$T/rw"
run status --rw "$T/rw" sh -c "seq 1 50000; echo to-stderr >&2; echo written >$T/rw/file; exit 7"
check "exit status 7 propagates" [ "$(cat "$T/status.rc")" = 7 ]
check "stdout comes back exactly (seq 1 50000)" cmp -s "$T/status.out" <(seq 1 50000)
check "stderr comes back apart from stdout" [ "$(cat "$T/status.err")" = to-stderr ]
check "--rw directory is written through to the host" grep -qx written "$T/rw/file"

# 2. kernel, kprobes, BTF, kfunc
run probes lab/smoke.sh --in-guest
guest_kver=$(sed -n 's/^uname=//p' "$T/probes.out")
lab_kernel() { [ -n "$guest_kver" ] && [ "$guest_kver" != "$(uname -r)" ] && { [ -z "$kver" ] || [ "$guest_kver" = "$kver" ]; }; }
check "guest runs the lab kernel ($guest_kver), not the host's ($(uname -r))" lab_kernel
check "kprobe:tcp_sendmsg fires on loopback traffic" has probes.out '^bpftrace: kprobe=tcp_sendmsg'
check "BTF struct reads (struct sock: AF_INET, dport $PORT)" has probes.out "family=2 dport=$PORT\$"
check "kfunc:tcp_sendmsg (fentry) fires, reads args" has probes.out '^bpftrace: kfunc=tcp_sendmsg size=[1-9]'
check "bpftrace exits cleanly" has probes.out '^bpftrace_rc=0$'

# 3. node
run node node -e 'console.log(process.version)'
check "node runs in the guest ($(cat "$T/node.out"))" [ "$(cat "$T/node.out")" = "$(node -e 'console.log(process.version)')" ]

# 4. timeout
run timeout --timeout 20 sleep 600
check "a guest past --timeout is killed, exit 124" [ "$(cat "$T/timeout.rc")" = 124 ]
check "... and lab/run says so" has timeout.err 'timed out after 20s'

if ((FAIL)); then
	for f in "$T"/*.out "$T"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 30 "$f"; }; done
fi
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
