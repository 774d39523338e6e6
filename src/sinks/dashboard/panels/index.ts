// The panel registry: layout type name → panel class. Adding a panel is a file here and a line.
import type { Widgets } from 'blessed';
import type { PanelSpec, PanelType } from '../layout.js';
import { FindingsPanel } from './findings.js';
import { HoldersPanel } from './holders.js';
import { InflightPanel } from './inflight.js';
import { LifetimesPanel } from './lifetimes.js';
import type { Panel } from './panel.js';
import { RefsPanel } from './refs.js';
import { SocketsPanel } from './sockets.js';
import { SummaryPanel } from './summary.js';

const PANELS: Record<PanelType, new (spec: PanelSpec, parent: Widgets.Node) => Panel> = {
  inflight: InflightPanel,
  lifetimes: LifetimesPanel,
  refs: RefsPanel,
  findings: FindingsPanel,
  holders: HoldersPanel,
  sockets: SocketsPanel,
  summary: SummaryPanel,
};

/** A panel of the spec's type, not yet placed. */
export function createPanel(spec: PanelSpec, parent: Widgets.Node): Panel {
  return new PANELS[spec.type](spec, parent);
}
