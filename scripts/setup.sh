#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready to build, run and test zctrace; quick when already done.
# Installs Debian packages (as root), mounts tracefs, installs npm packages, builds.
#   scripts/setup.sh          everything the tool and its tests need
#   ZCTRACE_SETUP_QUIET=1     only print what it changes
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

# Debian packages: bpftrace (the probes), gcc + liburing-dev (the bundled workloads),
# tmux (dashboard tests drive the real terminal UI through it), python3 (workload helpers),
# bpftool (below).
need=()
command -v bpftrace >/dev/null 2>&1 || need+=(bpftrace)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
[ -e /usr/include/liburing.h ] || need+=(liburing-dev)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# bpftool: BPF run time per program (bench:fingerprint) and the netpriv lab guest's checks
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
# nvme-cli, open-iscsi and fio: the storage lab scenario (test/lab/guest/storage-nvmet.sh and
# storage-iscsi.sh: the kernel's NVMe/TCP and iSCSI initiators connect to the kernel's targets,
# fio reads with verification; the guest runs the host's binaries)
command -v nvme >/dev/null 2>&1 || [ -x /usr/sbin/nvme ] || need+=(nvme-cli)
command -v iscsiadm >/dev/null 2>&1 || [ -x /usr/sbin/iscsiadm ] || need+=(open-iscsi)
command -v fio >/dev/null 2>&1 || need+=(fio)
# prometheus (with promtool) and prometheus-alertmanager (with amtool): deploy/'s alert rules
# are unit-tested with promtool and fired for real through both servers, which the tests start
# themselves on loopback ports with their own data directories (test/deploy/).
prom=()
command -v promtool >/dev/null 2>&1 || prom+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || prom+=(prometheus-alertmanager)
need+=("${prom[@]}")
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
  else
    say "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || say "apt-get update failed; trying the install anyway"
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts these as system services on install (where a service manager runs):
    # nothing here wants them on 9090/9093, so the ones this script installed are stopped
    # and disabled. A Prometheus that was already installed is left alone.
    for svc in "${prom[@]}"; do
      if [ -d /run/systemd/system ]; then systemctl disable --now "$svc" >/dev/null 2>&1 || true
      elif [ -x "/etc/init.d/$svc" ]; then service "$svc" stop >/dev/null 2>&1 || true; update-rc.d "$svc" disable >/dev/null 2>&1 || true
      fi
    done
  fi
fi

# Tracepoints are only visible with tracefs mounted; a fresh machine may not have it.
if [ "$(id -u)" -eq 0 ] && [ ! -e /sys/kernel/tracing/events ]; then
  if mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then say "mounted tracefs on /sys/kernel/tracing"
  else say "could not mount tracefs (zctrace doctor will say what that costs)"; fi
fi

# The kernel's own zero-copy senders (selftests from Debian's linux-source-6.1), built into a
# cache outside the clone: the acceptance tests trace correct senders nobody here wrote.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/outside-senders.sh >/dev/null || say "could not build the kernel's selftest senders (their tests will say so)"
fi

# npm packages, only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# Build when a source is newer than the last build.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -name '*.ts' -print -quit)" ] || [ tsconfig.json -nt dist/cli/main.js ]; then
  [ -n "${ZCTRACE_SETUP_QUIET:-}" ] || say "building"
  rm -rf dist
  npx tsc -p tsconfig.json
fi
