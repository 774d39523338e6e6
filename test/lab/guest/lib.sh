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

# settled NDJSON TRIES WANT: until zctrace's latest stats record (--headless --interval) in
# NDJSON counts at least WANT lifetimes and none open; at most TRIES tries 0.2 s apart ("no
# lifetime open" alone was true in the gap before a burst's last command reached zctrace)
settled() {
	local i last
	for ((i = 0; i < $2; i++)); do
		last=$(grep '"type":"stats"' "$1" | tail -n 1)
		if [[ $last == *'"open":0,'* ]]; then
			[[ $last =~ \"lifetimes\":([0-9]+) ]] && ((BASH_REMATCH[1] >= $3)) && return 0
		fi
		sleep 0.2
	done
	return 1
}
