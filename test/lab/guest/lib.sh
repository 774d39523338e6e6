# Sourced by the lab guest scripts (msgzc-kernel.sh, netpriv.sh, bench.sh).

# wait_ready RAW PID: until the program's `ready` line is in RAW (bpftrace runs BEGIN only once
# every probe is attached) or zctrace PID has exited; at most 6 minutes (attaching takes
# 20-100 s under TCG).
wait_ready() {
	local i
	for ((i = 0; i < 1800; i++)); do
		grep -q '^ready' "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# settled NDJSON N: until zctrace's latest stats record (--headless --interval) in NDJSON says no
# lifetime is open; at most N tries 0.2 s apart
settled() {
	local i
	for ((i = 0; i < $2; i++)); do
		grep '"type":"stats"' "$1" | tail -n 1 | grep -q '"open":0,' && return 0
		sleep 0.2
	done
	return 1
}
