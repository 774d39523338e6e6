// deploy/ checked by the tools that will read it: the alert rules by promtool's unit tests, the
// Prometheus and Alertmanager examples by promtool and amtool, the systemd unit by
// systemd-analyze (which needs no running systemd). scripts/setup.sh installs promtool and amtool:
// missing, they fail here rather than skip.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { metricNames } from '../helpers/metrics.js';

const D = join(ROOT, 'deploy');
const run = (cmd: string, args: string[]) => execa(cmd, args, { cwd: ROOT, reject: false, all: true });

describe('deploy/', () => {
  it('the alert rules pass their promtool unit tests (each alert fires on its series, with its labels, and not on a quiet host)', async () => {
    const r = await run('promtool', ['test', 'rules', join(D, 'tests', 'zctrace.rules.test.yml')]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.all)).toMatch(/SUCCESS/);
    // every alert the issue asks for is there, with its severity
    const rules = readFileSync(join(D, 'zctrace.rules.yml'), 'utf8');
    for (const [alert, sev] of [['ZctraceEarlyFree', 'page'], ['ZctraceUseAfterFree', 'page'], ['ZctraceRefcountUnderflow', 'page'], ['ZctraceLeak', 'warn'],
      ['ZctraceEnobufs', 'warn'], ['ZctraceCopyFallback', 'warn'], ['ZctraceLostEvents', 'warn'], ['ZctraceProbesDetached', 'warn']]) {
      expect(rules).toMatch(new RegExp(`alert: ${alert}\\n(.*\\n)*?\\s+severity: ${sev}`));
      expect(readFileSync(join(D, 'tests', 'zctrace.rules.test.yml'), 'utf8')).toContain(`alertname: ${alert}`);
    }
  });

  it('the example Prometheus and Alertmanager configurations are valid', async () => {
    const p = await run('promtool', ['check', 'config', join(D, 'prometheus.yml')]);
    expect(p.exitCode, String(p.all)).toBe(0);
    const a = await run('amtool', ['check-config', join(D, 'alertmanager.yml')]);
    expect(a.exitCode, String(a.all)).toBe(0);
  });

  it('systemd-analyze verify passes on the unit, which runs live headless with metrics, a rotated findings file and readiness', async () => {
    const r = await run('systemd-analyze', ['verify', join(D, 'zctrace.service')]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.all).trim()).toBe('');
    const unit = readFileSync(join(D, 'zctrace.service'), 'utf8');
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=all$/m); // systemd-notify, a child, sends READY=1
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/--headless .*--metrics 127\.0\.0\.1:9464/);
    expect(unit).toMatch(/--output \/var\/log\/zctrace\/findings\.ndjson --output-max-size \S+ --output-keep \d+/);
  });

  it('the Grafana dashboard: valid JSON, every panel has queries, every query names zctrace metrics the rules use too', () => {
    const dash = JSON.parse(readFileSync(join(D, 'grafana-dashboard.json'), 'utf8'));
    expect(dash.panels.length).toBeGreaterThan(5);
    for (const p of dash.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(metricNames(t.expr).length, t.expr).toBeGreaterThan(0);
    }
    // (that each name is really exported is checked against a live scrape: test/live/metrics.test.ts)
  });
});
