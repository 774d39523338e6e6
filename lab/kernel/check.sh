#!/usr/bin/env bash
# lab/kernel/check.sh — build (cached) the lab kernel and zcsim, boot the kernel with lab/run and
# run zcsim/guest-check.sh in it: kallsyms + BTF checks, then each fault mode traced by bpftrace.
# Environment passed to the guest check: MODES COUNT PAGES PORT WAIT_MS KEEP LO_MTU LO_OFFLOAD_OFF
# NETEM SKB_DEFER_MAX (see zcsim/guest-check.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
eval "$("$HERE/build.sh" --env)"
args=()
for v in MODES COUNT PAGES PORT KEEP WAIT_MS LO_MTU LO_OFFLOAD_OFF NETEM SKB_DEFER_MAX; do [ -z "${!v+x}" ] || args+=(--env "$v"); done
# KEEP=dir: the guest writes its raw outputs (bpftrace lines, /proc/zcsim, receiver) there
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; KEEP=$(cd "$KEEP" && pwd); export KEEP; args+=(--rw "$KEEP"); fi
exec "$HERE/../run" --kernel "$LAB_KERNEL" -t "${LAB_TIMEOUT:-900}" "${args[@]}" -- \
  sh "$HERE/zcsim/guest-check.sh" "$ZCSIM_KO"
