// The part of blessed-contrib 4.11 zctrace uses (it ships no types, and there is no
// @types/blessed-contrib). Default import only: `import contrib from 'blessed-contrib'`.
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  /** Options every contrib widget takes: blessed box options plus its own. */
  type WidgetOptions = Widgets.BoxOptions & Record<string, unknown>;

  /** One series of a line chart: y values with an x label each. */
  interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }

  /** A braille canvas widget; its canvas is sized once, when it is attached to a screen. */
  interface CanvasWidget extends Widgets.BoxElement {
    options: Record<string, unknown>;
  }

  interface LineChart extends CanvasWidget {
    setData(series: LineSeries[]): void;
  }

  interface BarChart extends CanvasWidget {
    /** `data[i].toString()` is what is printed under bar i. */
    setData(d: { titles: string[]; data: number[] }): void;
  }

  interface Table extends Widgets.BoxElement {
    options: { columnWidth: number[]; columnSpacing: number } & Record<string, unknown>;
    rows: Widgets.ListElement & { selected: number };
    setData(d: { headers: string[]; data: string[][] }): void;
  }

  const contrib: {
    line(opts: WidgetOptions): LineChart;
    bar(opts: WidgetOptions): BarChart;
    table(opts: WidgetOptions): Table;
  };
  export default contrib;
}
