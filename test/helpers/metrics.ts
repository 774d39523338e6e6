// Starts `zctrace live --headless --metrics 127.0.0.1:0 ARGS` and resolves once its probes are
// attached, with the address its metrics endpoint took; and reads a scrape into name → value.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BIN, ROOT } from './cli.js';

export async function liveWithMetrics(args: string[]): Promise<{ z: ResultPromise<{ cwd: string; reject: false }>; address: string; scrape: () => Promise<Map<string, number>> }> {
  const z = execa(process.execPath, [BIN, 'live', '--headless', '--metrics', '127.0.0.1:0', ...args], { cwd: ROOT, reject: false });
  let address = '';
  z.stderr!.on('data', (d: Buffer) => {
    const m = /metrics on http:\/\/([0-9.:]+)\/metrics/.exec(String(d));
    if (m) address = m[1];
  });
  await new Promise<void>((res, rej) => {
    z.stdout!.on('data', (d: Buffer) => { if (d.includes('"type":"start"')) res(); });
    void z.then((r) => rej(new Error(`zctrace ended before attaching: ${String(r.stderr)}`)));
  });
  if (address === '') throw new Error('zctrace did not say where its metrics are');
  return { z, address, scrape: async () => parseExposition(await (await fetch(`http://${address}/metrics`)).text()) };
}

/** Parses Prometheus exposition text into "name{labels}" → value. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** The metric names a PromQL expression uses (identifiers followed by a selector, range or operator, minus functions and keywords). */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const words = noStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const keywords = new Set(['sum', 'by', 'without', 'rate', 'increase', 'irate', 'histogram_quantile', 'or', 'and', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'max', 'min', 'avg', 'count', 'label_values', 'instance', 'le', 'kind', 'pack', 'job', 'bool', 'offset', 'absent', 'changes', 'delta', 'deriv', 'topk', 'bottomk']);
  return [...new Set(words.filter((w) => !keywords.has(w) && !w.startsWith('$') && /_/.test(w)))];
}

/** Every metric name deploy/ uses: the dashboard's queries and variable, the rules' expressions. */
export function deployMetricNames(): string[] {
  const D = join(ROOT, 'deploy');
  const dash = JSON.parse(readFileSync(join(D, 'grafana-dashboard.json'), 'utf8'));
  const exprs: string[] = dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
  exprs.push(...dash.templating.list.filter((v: { type: string }) => v.type === 'query').map((v: { definition: string }) => v.definition));
  const rules = readFileSync(join(D, 'zctrace.rules.yml'), 'utf8');
  exprs.push(...[...rules.matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => m[2] ?? m[1]));
  return [...new Set(exprs.flatMap(metricNames))].sort();
}
