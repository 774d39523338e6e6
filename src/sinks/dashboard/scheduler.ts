// The one place that renders. Panels set data; this calls screen.render() at the layout's
// period (from a fresh snapshot) and, after a key, once soon (coalesced), never per event.
// blessed's own render calls (resize, widgets) are routed here too, so nothing else can make
// the screen redraw at the event rate.
import type { Widgets } from 'blessed';

/** The smallest gap between two renders caused by input (keys arrive in bursts). */
const INPUT_GAP_MS = 30;

/** Draws a frame: `fresh` asks for a new snapshot, otherwise the last one is redrawn. */
export type DrawFrame = (fresh: boolean) => void;

/** Draws and renders a screen at a fixed period, and soon after input. */
export class Scheduler {
  /** Renders done, and the CPU time spent drawing them (ms): the bench and tests read them. */
  renders = 0;
  cpuMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private pendingFresh = false;
  private readonly realRender: () => void;
  private lastRender = 0;
  private drawing = false;

  constructor(
    private readonly screen: Widgets.Screen,
    private readonly periodMs: number,
    private readonly draw: DrawFrame,
    /** A frame threw: drawing stops and the owner decides (the dashboard closes with the error). */
    private readonly onError: (err: unknown) => void,
  ) {
    this.realRender = screen.render.bind(screen);
    // Anything else asking blessed to render (a resize, a widget) gets a coalesced redraw;
    // requests made while a frame is being drawn (a list scrolling to its selection asks for
    // one) are covered by that frame's own render.
    screen.render = () => {
      if (!this.drawing) this.soon(false);
    };
  }

  /** Draws now, then every period. */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.periodMs);
  }

  /** A redraw soon (after input); `fresh` takes a new snapshot first (a filter or sort change). */
  soon(fresh: boolean): void {
    this.pendingFresh ||= fresh;
    if (this.soonTimer !== undefined || this.timer === undefined) return;
    const wait = Math.max(0, INPUT_GAP_MS - (Date.now() - this.lastRender));
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      const f = this.pendingFresh;
      this.pendingFresh = false;
      this.frame(f);
    }, wait);
  }

  /** Stops all drawing (before the screen is destroyed). */
  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
    this.timer = undefined;
    this.soonTimer = undefined;
  }

  private tick(): void {
    this.pendingFresh = false;
    this.frame(true);
  }

  private frame(fresh: boolean): void {
    const c0 = process.cpuUsage(); // one syscall a frame: cheap at the rates a dashboard draws
    this.drawing = true;
    try {
      this.draw(fresh);
      this.realRender();
    } catch (err) {
      this.stop();
      this.onError(err);
      return;
    } finally {
      this.drawing = false;
    }
    this.lastRender = Date.now();
    this.renders++;
    const c = process.cpuUsage(c0);
    this.cpuMs += (c.user + c.system) / 1000;
  }
}
