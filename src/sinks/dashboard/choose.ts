// Which output a live run gets (`live`, and `demo` when it adopts it): the dashboard when stdin
// and stdout are a terminal, NDJSON with --headless, and otherwise today's status lines, with a
// sentence on stderr saying why there is no dashboard. Free of blessed (checked before loading).
import { UsageError } from '../../util/errors.js';
import { loadLayout, type Layout } from './layout.js';
import { checkTerminal, processIO, type TerminalIO } from './terminal.js';

/** The choice, and the layout when it is the dashboard. */
export interface LiveOutput {
  output: 'json' | 'status' | 'dashboard';
  layout?: Layout;
}

const INSTEAD = { headless: 'use --headless for NDJSON records' };

/**
 * `headless`: --headless given; `dashboard`: --dashboard NAME given (an explicit request is
 * an error when it cannot be met; the default falls back to compact, then to status lines).
 */
export function chooseLiveOutput(headless: boolean, dashboard: string | undefined, io: TerminalIO = processIO()): LiveOutput {
  if (headless) {
    if (dashboard !== undefined) throw new UsageError('--dashboard and --headless do not go together', 'drop one of them');
    return { output: 'json' };
  }
  if (dashboard !== undefined) {
    const layout = loadLayout(dashboard);
    checkTerminal(io, layout, INSTEAD);
    return { output: 'dashboard', layout };
  }
  if (io.output.isTTY !== true || io.input.isTTY !== true) {
    process.stderr.write(`zctrace: ${io.output.isTTY !== true ? 'stdout' : 'stdin'} is not a terminal, so no dashboard: status lines, then a report (--headless for NDJSON records)\n`);
    return { output: 'status' };
  }
  // The default layout when it fits, the compact one when only that fits, else a clear error.
  const layout = loadLayout('default');
  try {
    checkTerminal(io, layout, INSTEAD);
    return { output: 'dashboard', layout };
  } catch {
    const compact = loadLayout('compact');
    checkTerminal(io, compact, INSTEAD);
    return { output: 'dashboard', layout: compact };
  }
}
