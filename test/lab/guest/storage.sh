#!/bin/bash
# Inside the lab guest (started by test/lab/storage.lab.ts): the kernel's NVMe/TCP target on
# loopback (storage-nvmet.sh) traced by `zctrace live --pack kernel-target` while fio writes a
# pattern and reads it back with verification (the reads make nvmet-tcp send data pages).
# Usage: storage.sh OUT [FIO-ARGS...]
# Writes into OUT (a lab --rw directory): doctor.txt (doctor with the target loaded),
# nvmet.ndjson (zctrace's records), nvmet.raw (bpftrace's stdout), nvmet.trace, nvmet.err,
# fio-write.json, fio-read.json, fio.status; timings in log.
set -uo pipefail
out=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/../../.." || exit 125
log() { echo "$(date +%s.%N | cut -c1-14) $*" >>"$out/log"; }
uname -r >"$out/uname"
log "nvmet up"
"$here/storage-nvmet.sh" up >"$out/nvmet.dev" 2>>"$out/log" || { log "nvmet up failed"; exit 1; }
log "doctor"
node bin/zctrace.js doctor >"$out/doctor.txt" 2>&1
log "doctor exit $?"
: >"$out/nvmet.raw"
log "start zctrace"
ZCTRACE_BPFTRACE=$here/bpftrace-tee ZCTRACE_TEE=$out/nvmet.raw \
	node bin/zctrace.js live --pack kernel-target --headless --interval 1s --leak-after 5s \
	--attach-timeout 300s --record "$out/nvmet.trace" --force >"$out/nvmet.ndjson" 2>"$out/nvmet.err" &
zc=$!
wait_ready "$out/nvmet.raw" $zc || log "zctrace did not attach"
log "attached"
"$here/storage-nvmet.sh" run "$out" "$@"
echo $? >"$out/fio.status"
log "fio exit $(cat "$out/fio.status")"
sleep 2
kill -INT $zc
wait $zc
log "zctrace exit $?"
"$here/storage-nvmet.sh" down 2>>"$out/log"
log "nvmet down exit $?"
