// The systemd unit's capability set is what bpftrace really needs: zctrace run as the unit runs
// it (its ExecStart flags, its CapabilityBoundingSet applied with setpriv, since systemd is not
// PID 1 on this project's machines) attaches, says so on stderr, writes its start record and the
// early frees of the bundled sender to the rotating findings file and serves metrics; with
// CAP_SYS_ADMIN dropped from the set it cannot attach. And READY=1 reaches a NOTIFY_SOCKET
// once the probes are attached, through systemd-notify, as systemd would receive it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, records, ROOT } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';
import { workloadAs } from '../helpers/workload.js';

const skip = liveSkipReason();
let sender = '';
const dir = mkdtempSync(join(tmpdir(), 'zctrace-service-'));
const unit = readFileSync(join(ROOT, 'deploy', 'zctrace.service'), 'utf8');
const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)![1].trim().split(/\s+/);
/** The unit's ExecStart arguments after `zctrace`, continuation lines joined. */
const execArgs = /^ExecStart=\/usr\/bin\/env zctrace ((?:.*\\\n)*.*)$/m.exec(unit)![1].replace(/\\\n/g, ' ').trim().split(/\s+/);

/** Runs the unit's command with paths and ports made local, under a capability bounding set. */
function asUnit(bounding: string[], extra: string[], env: NodeJS.ProcessEnv = {}) {
  const args = execArgs.map((a) => a.replace('/var/log/zctrace', dir).replace('127.0.0.1:9464', '127.0.0.1:0'));
  const set = ['-all', ...bounding.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
  return execa('setpriv', ['--bounding-set', set, '--inh-caps=-all', process.execPath, BIN, ...args, ...extra], { cwd: ROOT, reject: false, env: { ...process.env, ...env } });
}

describe.skipIf(skip !== null)(`the systemd unit's command and capabilities${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'workloads')]);
    sender = workloadAs('msgzc', 'zcservice');
  });

  it(`with only ${caps.join(' ')}: attaches, finds the early frees, writes them to the findings file`, async () => {
    expect(caps).toEqual(['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN']);
    const z = asUnit(caps, ['--pack', 'msgzc-syscalls', '--comm', 'zcservice']);
    let err = '';
    await new Promise<void>((res, rej) => {
      z.stderr!.on('data', (d: Buffer) => { err += String(d); if (err.includes('probes attached')) res(); });
      void z.then(() => rej(new Error(`ended before attaching: ${err}`)));
    });
    expect(err).toMatch(/Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const w = await execa(sender, ['--fault', 'early-free', '--count', '32'], { timeout: 60_000 });
    const acct = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!);
    await new Promise((r) => setTimeout(r, 2000));
    z.kill('SIGTERM'); // what systemctl stop sends
    const r = await z;
    expect(r.exitCode, err).toBe(0);
    expect(String(r.stdout)).toBe(''); // the records went to the file
    const recs = records(readFileSync(join(dir, 'findings.ndjson'), 'utf8'));
    expect(recs[0]).toMatchObject({ type: 'start', pack: 'msgzc-syscalls', mode: 'matching' });
    expect(recs.filter((x) => x.type === 'finding' && x.kind === 'early_free' && x.pid === acct.pid).length).toBe(acct.faulted_ids.length);
    expect(recs.at(-1)).toMatchObject({ type: 'summary', ended: 'interrupted (SIGTERM)' });
  });

  it('without CAP_SYS_ADMIN bpftrace cannot attach (the set is no larger than needed)', async () => {
    const r = await asUnit(caps.filter((c) => c !== 'CAP_SYS_ADMIN'), ['--pack', 'msgzc-syscalls', '--comm', 'zcservice', '--output', join(dir, 'noadmin.ndjson'), '--duration', '20s']);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).not.toMatch(/probes attached/);
  });

  it('READY=1 reaches NOTIFY_SOCKET once the probes are attached, STOPPING=1 when it stops', async () => {
    const sock = join(dir, 'notify.sock');
    // a datagram socket like systemd's, that prints what it receives (Node has no AF_UNIX datagrams)
    const listener = execa('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg = s.recv(4096)  # no room for passed fds: the kernel closes them (systemd-notify's barrier ends)
    print(msg.decode().replace("\\n", " "), flush=True)
`, sock], { reject: false });
    await new Promise<void>((res) => listener.stdout!.on('data', (d: Buffer) => { if (String(d).includes('listening')) res(); }));
    const z = asUnit(caps, ['--pack', 'msgzc-syscalls', '--comm', 'zcservice'], { NOTIFY_SOCKET: sock });
    let err = '';
    let out = '';
    listener.stdout!.on('data', (d: Buffer) => { out += String(d); });
    await new Promise<void>((res, rej) => {
      z.stderr!.on('data', (d: Buffer) => { err += String(d); if (err.includes('probes attached')) res(); });
      void z.then(() => rej(new Error(`ended before attaching: ${err}`)));
    });
    for (let i = 0; i < 50 && !out.includes('READY=1'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/READY=1/);
    expect(out).toMatch(/STATUS=tracing with msgzc-syscalls \(matching\)/);
    z.kill('SIGTERM');
    await z;
    for (let i = 0; i < 50 && !out.includes('STOPPING=1'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/STOPPING=1/);
    listener.kill();
    await listener;
  });
});
