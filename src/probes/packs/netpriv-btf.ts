// Where a struct member sits in a kernel module's BTF (/sys/kernel/btf/<module>), so the netpriv
// program can read the holder's own reference count (e.g. struct zcsim_cmd.net_ref_cnt) at a
// plain offset. Why not let bpftrace read `((struct zcsim_cmd *)h)->net_ref_cnt.counter`:
// bpftrace 0.17 lists module types (`bpftrace -lv`), but in a program a member whose type lives
// in the base (vmlinux) BTF, like atomic_t, has no type ("Can not access field 'counter' on
// expression of type 'none'", seen in the lab). A module's BTF is "split" BTF: its type ids
// continue after vmlinux's, and string offsets at or past vmlinux's string section length are
// its own (kernel Documentation/bpf/btf.rst).
import { readFileSync } from 'node:fs';

const MAGIC = 0xeb9f;
const INT = 1, STRUCT = 4, UNION = 5, TYPEDEF = 8, VOLATILE = 9, CONST = 10, RESTRICT = 11, TYPE_TAG = 18;

/** Bytes after the 12-byte btf_type of each kind (same table as src/probes/btf.ts). */
function trailer(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4;
    case 3: return 12;
    case 4: case 5: return 12 * vlen;
    case 6: return 8 * vlen;
    case 13: return 8 * vlen;
    case 14: return 4;
    case 15: return 12 * vlen;
    case 17: return 4;
    case 19: return 12 * vlen;
    default: return 0;
  }
}

interface Blob {
  buf: Buffer;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

function header(buf: Buffer): Blob {
  if (buf.length < 24 || buf.readUInt16LE(0) !== MAGIC) throw new Error('not a little-endian BTF blob');
  const hdrLen = buf.readUInt32LE(4);
  return {
    buf, typeOff: hdrLen + buf.readUInt32LE(8), typeLen: buf.readUInt32LE(12),
    strOff: hdrLen + buf.readUInt32LE(16), strLen: buf.readUInt32LE(20),
  };
}

/** Byte position of each type record (index 0 = type id `first`). */
function typePositions(b: Blob): number[] {
  const out: number[] = [];
  for (let pos = b.typeOff; pos < b.typeOff + b.typeLen;) {
    out.push(pos);
    const info = b.buf.readUInt32LE(pos + 4);
    pos += 12 + trailer((info >>> 24) & 0x1f, info & 0xffff);
  }
  return out;
}

/** A member's byte offset and the name of its type (typedefs and qualifiers followed to the first name). */
export interface MemberInfo {
  offset: number;
  /** e.g. "atomic_t" (a typedef) or "int". */
  typeName: string;
  /** Size in bytes when the type resolves to an INT (else undefined). */
  intSize?: number;
}

/**
 * Finds `struct <name>.<member>` (a direct member) in split BTF `mod` on top of `base`.
 * Undefined when the struct or member is absent, or the member is a bitfield.
 */
export function moduleMember(base: Buffer, mod: Buffer, struct: string, member: string): MemberInfo | undefined {
  const b = header(base);
  const m = header(mod);
  const basePos = typePositions(b);
  const modPos = typePositions(m);
  const nBase = basePos.length;
  const str = (off: number): string => {
    const [blob, o] = off < b.strLen ? [b, off] : [m, off - b.strLen];
    const start = blob.strOff + o;
    return blob.buf.toString('latin1', start, blob.buf.indexOf(0, start));
  };
  const at = (id: number): { blob: Blob; pos: number } | undefined =>
    id >= 1 && id <= nBase ? { blob: b, pos: basePos[id - 1] } : id > nBase && id - nBase <= modPos.length ? { blob: m, pos: modPos[id - nBase - 1] } : undefined;

  for (const pos of modPos) {
    const info = mod.readUInt32LE(pos + 4);
    const kind = (info >>> 24) & 0x1f;
    if ((kind !== STRUCT && kind !== UNION) || str(mod.readUInt32LE(pos)) !== struct) continue;
    const kindFlag = (info >>> 31) === 1;
    for (let i = 0; i < (info & 0xffff); i++) {
      const mp = pos + 12 + i * 12;
      if (str(mod.readUInt32LE(mp)) !== member) continue;
      const raw = mod.readUInt32LE(mp + 8);
      const bits = kindFlag ? raw & 0xffffff : raw;
      if ((kindFlag && raw >>> 24 !== 0) || bits % 8 !== 0) return undefined;
      // the member's type: follow qualifiers to the first named type
      let id = mod.readUInt32LE(mp + 4);
      for (let hop = 0; hop < 16; hop++) {
        const t = at(id);
        if (t === undefined) return undefined;
        const tinfo = t.blob.buf.readUInt32LE(t.pos + 4);
        const tkind = (tinfo >>> 24) & 0x1f;
        const name = str(t.blob.buf.readUInt32LE(t.pos));
        if ([VOLATILE, CONST, RESTRICT, TYPE_TAG].includes(tkind) || (tkind === TYPEDEF && name === '')) {
          id = t.blob.buf.readUInt32LE(t.pos + 8);
          continue;
        }
        const out: MemberInfo = { offset: bits / 8, typeName: name };
        if (tkind === INT) out.intSize = t.blob.buf.readUInt32LE(t.pos + 8);
        return out;
      }
      return undefined;
    }
  }
  return undefined;
}

/** The member as the running kernel lays it out: /sys/kernel/btf/vmlinux + /sys/kernel/btf/<module>. */
export function liveModuleMember(module: string, struct: string, member: string, dir = '/sys/kernel/btf'): MemberInfo | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(module)) return undefined;
  return moduleMember(readFileSync(`${dir}/vmlinux`), readFileSync(`${dir}/${module}`), struct, member);
}
