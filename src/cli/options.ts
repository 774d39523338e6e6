// Parsers for flag values. Every value that can reach a probe program or the engine is checked
// here, so a bad value is a usage error that names the flag, never a strange result.
import ms from 'ms';
import { FINDING_KINDS, type FindingKind } from '../engine/types.js';
import type { Speed } from '../run/tui-replay.js';
import { UsageError } from '../util/errors.js';

/** "500ms", "10s", "2m", "1h" → nanoseconds. A bare number is refused (which unit?). */
export function parseDuration(flag: string, v: string): number {
  const s = v.trim();
  const n = /^[0-9]+(\.[0-9]+)?\s*[a-z]+$/i.test(s) ? ms(s as ms.StringValue) : undefined;
  if (n === undefined || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag}: "${v}" is not a duration`, 'write a number and a unit, e.g. 500ms, 10s, 2m, 1h');
  }
  return Math.round(n * 1e6);
}

/** "leak,early_free" → the kinds; unknown names are refused with the list of valid ones. */
export function parseKinds(flag: string, v: string): Set<FindingKind> {
  const out = new Set<FindingKind>();
  for (const raw of v.split(',')) {
    const k = raw.trim().replace(/-/g, '_');
    if (k === '') continue;
    if (k === 'any' || k === 'all') {
      for (const x of FINDING_KINDS) out.add(x);
      continue;
    }
    if (!(FINDING_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`${flag}: unknown finding kind "${raw.trim()}"`, `valid kinds: ${FINDING_KINDS.join(', ')}, any`);
    }
    out.add(k as FindingKind);
  }
  if (out.size === 0) throw new UsageError(`${flag}: no finding kind given`);
  return out;
}

/** A decimal integer within [min, max]. */
export function parseIntIn(flag: string, v: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(v.trim())) throw new UsageError(`${flag}: "${v}" is not a whole number`);
  const n = Number(v.trim());
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is out of range ${min}..${max}`);
  return n;
}

/** A task name as the kernel stores it (at most 15 bytes), from a strict character set. */
export function parseComm(flag: string, v: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(v)) {
    throw new UsageError(`${flag}: "${v}" is not an accepted process name`, 'use 1-15 characters from A-Z a-z 0-9 _ . : -');
  }
  return v;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`${flag}: "${v}" is not one of ${choices.join(', ')}`);
  return v as T;
}

/** "1MB", "512KiB", "64k", "2G" → bytes (KB/MB/GB decimal; K/M/G and KiB/MiB/GiB binary). */
export function parseSize(flag: string, v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)(i?)(b?)$/i.exec(v.trim());
  if (!m || (m[3] !== '' && m[2] === '')) throw new UsageError(`${flag}: "${v}" is not a size`, 'write a number and a unit, e.g. 512KiB, 1MB, 100M, 2GiB');
  const power = ' kmg'.indexOf(m[2].toLowerCase() || ' ');
  const decimal = m[3] === '' && m[4] !== '' && power > 0;
  const n = Math.round(Number(m[1]) * (decimal ? 1000 : 1024) ** power);
  if (n < 4096) throw new UsageError(`${flag}: ${v} is too small (at least 4KiB)`);
  return n;
}

/** "9464", "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464" → where to listen (a bare port: localhost only). */
export function parseListen(flag: string, v: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]+)$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: "${v}" is not HOST:PORT or PORT`, 'e.g. 9464 (127.0.0.1 only), 127.0.0.1:9464, 0.0.0.0:9464 to be scraped from other hosts');
  const port = parseIntIn(flag, m[2], 0, 65535);
  return { host: m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, ''), port };
}

/** "10x", "0.5x", "10", "max" → a speed; anything else is a usage error naming the flag. */
export function parseSpeed(flag: string, v: string): Speed {
  const s = v.trim().toLowerCase();
  if (s === 'max') return 'max';
  const m = /^([0-9]+(\.[0-9]+)?)x?$/.exec(s);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0.01 && n <= 1e6)) throw new UsageError(`${flag}: "${v}" is not a speed`, 'write a factor of real time such as 1x, 10x, 0.5x, or max');
  return n;
}
