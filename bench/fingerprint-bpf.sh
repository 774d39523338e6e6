#!/usr/bin/env bash
# bench/fingerprint-bpf: what the content fingerprint costs inside the kernel, per send.
# One process writes a 64 KiB buffer to /dev/null 200k times; a tracepoint program on
# sys_exit_write either samples the buffer as the packs do (16 words at 4 KiB steps and the last
# word, FNV-1a, from user memory) or only stores a constant, in alternated runs. The kernel's own
# accounting (kernel.bpf_stats_enabled: run_time_ns / run_cnt, read with bpftool) gives the
# BPF run time per call; the difference is the fingerprint. Root; bpftrace, bpftool, gcc.
# Usage: npm run bench:fingerprint [-- ROUNDS]
set -euo pipefail
rounds=${1:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
command -v bpftool >/dev/null || { echo "bench:fingerprint needs bpftool (apt-get install bpftool)" >&2; exit 2; }
cat > "$dir/w.c" <<'C'
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
	prctl(PR_SET_NAME, "zc-fpbench");
	char *b = malloc(65536);
	memset(b, 1, 65536);
	int fd = open("/dev/null", O_WRONLY);
	for (int i = 0; i < 200000; i++)
		if (write(fd, b, 65536) < 0) return 1;
	return 0;
}
C
gcc -O2 -o "$dir/w" "$dir/w.c"
sysctl -qw kernel.bpf_stats_enabled=1
one() {   # $1: fp | base; prints ns per call
	local body='$h = (uint64)0xcbf29ce484222325;'
	[ "$1" = fp ] && body='$h = (uint64)0xcbf29ce484222325; $z = 1; $k = (uint64)0;
	while ($k < 16) { $w = *uptr((uint64 *)($a + $k * 4096)); if ($w != 0) { $z = 0; } $h = ($h ^ $w) * 0x100000001b3; $k++; }
	$w = *uptr((uint64 *)($a + 65528)); if ($w != 0) { $z = 0; } $h = ($h ^ $w) * 0x100000001b3;'
	cat > "$dir/p.bt" <<BT
tracepoint:syscalls:sys_enter_write /comm == "zc-fpbench"/ { @b[tid] = (uint64)args->buf; }
tracepoint:syscalls:sys_exit_write /@b[tid]/ { \$a = @b[tid]; delete(@b[tid]); $body @f[tid] = \$h; }
BT
	bpftrace "$dir/p.bt" > "$dir/out" 2>&1 &
	local bp=$!
	until grep -q Attaching "$dir/out"; do sleep 0.2; done
	sleep 2   # "Attaching" comes before the attach (probes/README.md)
	"$dir/w"
	bpftool -j prog show | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("sys_exit_write") and p.get("run_cnt"):
        print(round(p["run_time_ns"] / p["run_cnt"]))'
	kill -INT $bp; wait $bp || true
}
fp=(); base=()
for ((i = 1; i <= rounds; i++)); do
	b=$(one base); f=$(one fp)
	base+=("$b"); fp+=("$f")
	echo "  round $i: $b ns per call without, $f ns with the fingerprint"
done
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
mb=$(med "${base[@]}"); mf=$(med "${fp[@]}")
echo "RESULT fingerprint of a 64 KiB buffer: $((mf - mb)) ns of BPF run time per send (median $mf vs $mb ns, $rounds alternated rounds)"
echo "env: $(uname -r), $(nproc) cores, $(bpftrace --version)"
