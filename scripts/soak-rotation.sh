#!/usr/bin/env bash
# A long headless run with rotation, as a service would run (the long check of rotated captures, not
# part of npm test: it takes MINUTES, 10 by default). The bundled MSG_ZEROCOPY sender, renamed so
# that other runs filtering on "msgzc" do not see it, sends paced early-free traffic in a loop;
# zctrace live --headless streams it (a line per event, the most data) to a trace rotated at
# 1 MB and a findings file rotated at 1 MB, keeping KEEP files each. At the end it checks: at
# most KEEP files of each, every trace file replays on its own, `replay DIR` equals the replay of
# the same files joined into one, and every findings file is valid NDJSON.
#   scripts/soak-rotation.sh [MINUTES] [KEEP]     (root, bpftrace: as npm test's live tests)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}; keep=${2:-5}
out=$(mktemp -d /tmp/zctrace-soak-XXXXXX)
make -s -C workloads
cp workloads/msgzc "$out/zcsoak"
echo "soak: $minutes min, rotation at 1MB keeping $keep files, in $out" >&2
node bin/zctrace.js live --headless --pack msgzc-syscalls --mode stream --comm zcsoak --leak-after 5s \
  --record "$out/rec/trace" --record-max-size 1MB --record-keep "$keep" \
  --output "$out/log/findings.ndjson" --output-max-size 1MB --output-keep "$keep" \
  --interval 10s --duration "${minutes}m" 2>"$out/stderr" &
z=$!
mkdir -p "$out/rec" "$out/log"
for _ in $(seq 1 600); do grep -q 'probes attached' "$out/stderr" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s); loops=0
while kill -0 "$z" 2>/dev/null && [ $(( $(date +%s) - start )) -lt $(( minutes * 60 - 5 )) ]; do
  "$out/zcsoak" --fault early-free --count 2000 --interval-us 2000 >/dev/null
  loops=$((loops + 1))
done
wait "$z"
echo "soak: zctrace exited $?, $loops workload runs" >&2
ntrace=$(ls "$out/rec" | wc -l); nlog=$(ls "$out/log" | wc -l)
echo "soak: trace files: $ntrace (keep $keep), sizes: $(ls -l "$out/rec" | awk 'NR>1 {printf "%s ", $5}')" >&2
echo "soak: findings files: $nlog (keep $keep), sizes: $(ls -l "$out/log" | awk 'NR>1 {printf "%s ", $5}')" >&2
[ "$ntrace" -le "$keep" ] && [ "$nlog" -le "$keep" ]
for f in "$out"/rec/*; do node bin/zctrace.js replay --json "$f" | tail -1 | grep -q '"type":"summary"'; done
for f in "$out"/log/*; do node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) JSON.parse(l)' "$f"; done
# the same files joined into one trace: the first header, then every file's events in order
first=1
for f in "$out"/rec/trace.0* "$out/rec/trace"; do   # the glob sorts the numbered ones; the active file is last
  if [ $first -eq 1 ]; then head -1 "$f" | sed 's/,"segment":[0-9]*//' > "$out/joined.trace"; first=0; fi
  tail -n +2 "$f" >> "$out/joined.trace"
done
node bin/zctrace.js replay --json "$out/rec" | sed 's/"source":"[^"]*"//' > "$out/dir.json"
node bin/zctrace.js replay --json "$out/joined.trace" | sed 's/"source":"[^"]*"//' > "$out/one.json"
cmp "$out/dir.json" "$out/one.json"
echo "soak: ok: replay DIR equals the joined file ($(grep -c '"type":"finding"' "$out/dir.json") findings; $(tail -1 "$out/dir.json" | grep -o '"lifetimes":[0-9]*'))" >&2
