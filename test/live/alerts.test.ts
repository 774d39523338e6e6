// The alert rules fired for real: Debian's prometheus and prometheus-alertmanager (installed by
// scripts/setup.sh), started here on free loopback ports with their own data directories, scrape
// `zctrace live --metrics` every second and evaluate deploy/zctrace.rules.yml every second;
// Alertmanager delivers to a webhook this test serves. A clean run of the bundled sender raises
// nothing; a run that unmaps buffers before their completion pages with ZctraceEarlyFree within
// 60 s, with the labels an on-call engineer routes on. No mock of either server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';
import { workloadAs } from '../helpers/workload.js';
import { liveWithMetrics } from '../helpers/metrics.js';
import { stopChild } from '../helpers/stop-child.js';

const skip = liveSkipReason();
let sender = '';
const dir = mkdtempSync(join(tmpdir(), 'zctrace-alerts-'));

interface Delivered { at: number; body: { status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] } }

/** A free loopback port (the kernel's pick; the tiny race with the server that takes it is accepted). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skip !== null)(`alert rules in a real Prometheus and Alertmanager${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const delivered: Delivered[] = [];
  let hook: Server;
  const children: { p: ResultPromise; name: string }[] = [];
  let prom = '';
  let z: Awaited<ReturnType<typeof liveWithMetrics>>;

  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const r = await (await fetch(`http://${prom}/api/v1/query?query=${encodeURIComponent(q)}`)).json() as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return r.data.result;
  };
  const alerts = async (): Promise<{ labels: Record<string, string>; state: string }[]> =>
    ((await (await fetch(`http://${prom}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } }).data.alerts;

  beforeAll(async () => {
    // installed by scripts/setup.sh: missing, this is a failure that says so, not a skip
    for (const bin of ['prometheus', 'prometheus-alertmanager']) {
      try {
        execFileSync('sh', ['-c', `command -v ${bin}`]);
      } catch {
        throw new Error(`${bin} is not installed: run scripts/setup.sh (it installs Debian's prometheus and prometheus-alertmanager)`);
      }
    }
    execFileSync('make', ['-s', '-C', join(ROOT, 'workloads')]);
    sender = workloadAs('msgzc', 'zcalerts');
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += String(d); });
      req.on('end', () => { delivered.push({ at: Date.now(), body: JSON.parse(body) }); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const hookPort = (hook.address() as AddressInfo).port;
    z = await liveWithMetrics(['--pack', 'msgzc-syscalls', '--comm', 'zcalerts', '--leak-after', '2s', '--interval', '5s']);

    const am = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'alertmanager.yml'), [
      'route:', '  receiver: hook', '  group_by: [alertname, instance]', '  group_wait: 1s', '  group_interval: 1s', '  repeat_interval: 1h',
      'receivers:', '  - name: hook', '    webhook_configs:', `      - url: http://127.0.0.1:${hookPort}/`, '        send_resolved: false', '',
    ].join('\n'));
    children.push({ name: 'alertmanager', p: execa('prometheus-alertmanager', [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'am')}`,
      `--web.listen-address=${am}`, '--cluster.listen-address=', '--log.level=warn'], { reject: false }) });
    prom = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      `rule_files: [${JSON.stringify(join(ROOT, 'deploy', 'zctrace.rules.yml'))}]`,
      'alerting:', '  alertmanagers:', `    - static_configs: [{ targets: ['${am}'] }]`,
      'scrape_configs:', '  - job_name: zctrace', `    static_configs: [{ targets: ['${z.address}'] }]`, '',
    ].join('\n'));
    children.push({ name: 'prometheus', p: execa('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=${prom}`, '--log.level=warn'], { reject: false }) });
    // Prometheus up, zctrace scraped and attached, Alertmanager known to it
    await waitFor('Prometheus to scrape zctrace', 60_000, async () => {
      const r = await query('zctrace_probes_attached');
      return r.length === 1 && r[0].value[1] === '1' ? true : undefined;
    });
    await waitFor('Alertmanager to be ready', 30_000, async () => ((await fetch(`http://${am}/-/ready`)).ok ? true : undefined));
  }, 120_000);

  afterAll(async () => {
    if (z) {
      z.z.kill('SIGINT');
      await z.z;
    }
    for (const c of children) await stopChild(c.p, c.p, 5000);
    hook?.close();
  });

  it('a clean run raises no alert', async () => {
    const w = await execa(sender, ['--fault', 'none', '--count', '64'], { timeout: 60_000 });
    const acct = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!);
    // Prometheus has seen every send of the run...
    await waitFor('the sends in Prometheus', 30_000, async () => {
      const r = await query('zctrace_lifetimes_started_total');
      return r.length === 1 && Number(r[0].value[1]) >= acct.sends ? true : undefined;
    });
    // ...and evaluated the rules on it several times; the early-free run below fires within a few.
    await new Promise((r) => setTimeout(r, 8000));
    const firing = (await alerts()).filter((a) => a.state === 'firing');
    expect(firing).toEqual([]);
    expect(delivered).toEqual([]);
    // Loopback copies every send (the kernel's copy fallback): the copy-fallback alert may be
    // pending; it needs 30 minutes of that to fire.
    for (const a of await alerts()) expect(a.labels.alertname).toBe('ZctraceCopyFallback');
  });

  it('an early free pages with ZctraceEarlyFree within 60 s, with its labels', async () => {
    const t0 = Date.now();
    const w = await execa(sender, ['--fault', 'early-free', '--count', '64'], { timeout: 60_000 });
    const acct = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!);
    expect(acct.faulted_ids.length).toBeGreaterThan(0);
    const got = await waitFor('Alertmanager to deliver ZctraceEarlyFree', 60_000, async () => {
      for (const d of delivered) {
        const a = d.body.alerts.find((x) => x.labels.alertname === 'ZctraceEarlyFree' && x.status === 'firing');
        if (a) return { d, a };
      }
      return undefined;
    });
    const seconds = (got.d.at - t0) / 1000;
    process.stderr.write(`alerts.test: ZctraceEarlyFree delivered ${seconds.toFixed(1)} s after the faulty workload started\n`);
    expect(seconds).toBeLessThan(60);
    expect(got.a.labels).toEqual({
      alertname: 'ZctraceEarlyFree', severity: 'page', kind: 'early_free', pack: 'msgzc-syscalls', job: 'zctrace', instance: z.address,
    });
    expect(got.a.annotations.summary).toBe(`early free on ${z.address} (msgzc-syscalls)`);
    expect(got.a.annotations.description).toMatch(new RegExp(`^${acct.faulted_ids.length} buffer\\(s\\) freed or changed`));
    // nothing else was delivered: one fault, one page
    expect(delivered.flatMap((d) => d.body.alerts.map((x) => x.labels.alertname))).toEqual(['ZctraceEarlyFree']);
  });
});
