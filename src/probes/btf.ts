// Reads the kernel's BTF (/sys/kernel/btf/vmlinux and its modules' /sys/kernel/btf/<module>)
// directly. Only what member lookup needs is decoded: the type table and the string section
// (format: the kernel's Documentation/bpf/btf.rst; each kind is followed by a kind-specific
// trailer). Two readers of it:
// - `Btf`: whether a struct has a member. Packs name the struct members they read; checking them
//   with `bpftrace -lv` costs seconds per struct on a busy host, this costs a few tens of
//   milliseconds for all of them.
// - `moduleMember`: where a struct member sits in a kernel module's BTF, so the netpriv program
//   can read the holder's own reference count (e.g. struct zcsim_cmd.net_ref_cnt) at a plain
//   offset. Why not let bpftrace read `((struct zcsim_cmd *)h)->net_ref_cnt.counter`: bpftrace
//   0.17 lists module types (`bpftrace -lv`), but in a program a member whose type lives in the
//   base (vmlinux) BTF, like atomic_t, has no type ("Can not access field 'counter' on
//   expression of type 'none'", seen in the lab). A module's BTF is "split" BTF: its type ids
//   continue after vmlinux's, and string offsets at or past vmlinux's string section length are
//   its own.
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const INT = 1, STRUCT = 4, UNION = 5, TYPEDEF = 8, VOLATILE = 9, CONST = 10, RESTRICT = 11, TYPE_TAG = 18;

/** Bytes that follow the 12-byte btf_type of each kind (vlen = number of entries). */
function trailer(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return 12 * vlen; // STRUCT, UNION: members
    case 6: return 8 * vlen; // ENUM
    case 13: return 8 * vlen; // FUNC_PROTO: params
    case 14: return 4; // VAR
    case 15: return 12 * vlen; // DATASEC
    case 17: return 4; // DECL_TAG
    case 19: return 12 * vlen; // ENUM64
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/** One BTF blob: where its type and string sections are. */
interface Blob {
  buf: Buffer;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

function header(buf: Buffer): Blob {
  if (buf.length < 24 || buf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not a little-endian BTF blob');
  const hdrLen = buf.readUInt32LE(4);
  return {
    buf, typeOff: hdrLen + buf.readUInt32LE(8), typeLen: buf.readUInt32LE(12),
    strOff: hdrLen + buf.readUInt32LE(16), strLen: buf.readUInt32LE(20),
  };
}

/** The string at offset `off` of a blob's string section. */
function stringAt(b: Blob, off: number): string {
  const start = b.strOff + off;
  return b.buf.toString('latin1', start, b.buf.indexOf(0, start));
}

/** Byte position of each type record (index 0 = the blob's first type id). */
function typePositions(b: Blob): number[] {
  const out: number[] = [];
  for (let pos = b.typeOff; pos < b.typeOff + b.typeLen;) {
    out.push(pos);
    const info = b.buf.readUInt32LE(pos + 4);
    pos += 12 + trailer((info >>> 24) & 0x1f, info & 0xffff);
  }
  return out;
}

interface Composite {
  /** Member names and their type ids; anonymous members have name "". */
  members: { name: string; type: number }[];
}

/** The structs and unions of one BTF blob, by type id and by name. */
export class Btf {
  private readonly byId = new Map<number, Composite>();
  private readonly byName = new Map<string, number[]>();
  /** For following typedef/const/volatile chains to an anonymous member's struct. */
  private readonly refs = new Map<number, number>();

  constructor(buf: Buffer) {
    const b = header(buf);
    typePositions(b).forEach((pos, i) => {
      const id = i + 1;
      const info = buf.readUInt32LE(pos + 4);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      if (kind === STRUCT || kind === UNION) {
        const members = [];
        for (let j = 0; j < vlen; j++) {
          const m = pos + 12 + j * 12;
          members.push({ name: stringAt(b, buf.readUInt32LE(m)), type: buf.readUInt32LE(m + 4) });
        }
        this.byId.set(id, { members });
        const name = stringAt(b, buf.readUInt32LE(pos));
        if (name) this.byName.set(name, [...(this.byName.get(name) ?? []), id]);
      } else if (kind === TYPEDEF || kind === VOLATILE || kind === CONST || kind === RESTRICT || kind === TYPE_TAG) {
        // a pointer's target (PTR) is not part of the struct, so it is not followed
        this.refs.set(id, buf.readUInt32LE(pos + 8));
      }
    });
  }

  /** Reads the running kernel's BTF. */
  static vmlinux(path = '/sys/kernel/btf/vmlinux'): Btf {
    return new Btf(readFileSync(path));
  }

  /** Whether `struct name` has `member`, looking inside anonymous structs and unions as C does. */
  hasMember(struct: string, member: string): boolean {
    return (this.byName.get(struct) ?? []).some((id) => this.search(id, member, 0));
  }

  /** Whether a struct (or union) of that name exists. */
  hasStruct(struct: string): boolean {
    return this.byName.has(struct);
  }

  private search(id: number, member: string, depth: number): boolean {
    const c = this.byId.get(id);
    if (c === undefined || depth > 8) return false;
    for (const m of c.members) {
      if (m.name === member) return true;
      if (m.name === '' && this.search(this.resolve(m.type), member, depth + 1)) return true;
    }
    return false;
  }

  private resolve(id: number): number {
    let cur = id;
    for (let i = 0; i < 16 && this.refs.has(cur); i++) cur = this.refs.get(cur)!;
    return cur;
  }
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
  const str = (off: number): string => (off < b.strLen ? stringAt(b, off) : stringAt(m, off - b.strLen));
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
