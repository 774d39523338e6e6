// Number formatting for people (reports, dashboard, status lines). Pure.

/** 1.234 s / 5.000 ms / 12.3 µs / 800 ns. */
export function fmtNs(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 60e9) return `${(ns / 60e9).toFixed(1)} min`;
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}

/** 64.0 KiB / 1.5 GiB. */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 1,234,567. */
export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Pads or cuts to exactly `w` characters (tables). */
export function cell(s: string, w: number, right = false): string {
  if (s.length > w) return w > 1 ? s.slice(0, w - 1) + '…' : s.slice(0, w);
  return right ? s.padStart(w) : s.padEnd(w);
}
