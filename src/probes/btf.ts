// Reads struct layouts from the kernel's BTF (/sys/kernel/btf/vmlinux) directly. Packs name the
// struct members they read; checking them with `bpftrace -lv` costs seconds per struct on a
// busy host, this costs a few tens of milliseconds for all of them. Only what member lookup
// needs is decoded: the type table and the string section (format: the kernel's
// Documentation/bpf/btf.rst; each kind is followed by a kind-specific trailer).
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const KIND_STRUCT = 4;
const KIND_UNION = 5;

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
    if (buf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not a little-endian BTF blob');
    const hdrLen = buf.readUInt32LE(4);
    const typeOff = hdrLen + buf.readUInt32LE(8);
    const typeLen = buf.readUInt32LE(12);
    const strOff = hdrLen + buf.readUInt32LE(16);
    const str = (off: number): string => {
      const end = buf.indexOf(0, strOff + off);
      return buf.toString('latin1', strOff + off, end);
    };
    let pos = typeOff;
    let id = 1;
    while (pos < typeOff + typeLen) {
      const nameOff = buf.readUInt32LE(pos);
      const info = buf.readUInt32LE(pos + 4);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      if (kind === KIND_STRUCT || kind === KIND_UNION) {
        const members = [];
        for (let i = 0; i < vlen; i++) {
          const m = pos + 12 + i * 12;
          members.push({ name: str(buf.readUInt32LE(m)), type: buf.readUInt32LE(m + 4) });
        }
        this.byId.set(id, { members });
        const name = str(nameOff);
        if (name) this.byName.set(name, [...(this.byName.get(name) ?? []), id]);
      } else if (kind === 2 || kind === 8 || kind === 9 || kind === 10 || kind === 11 || kind === 18) {
        this.refs.set(id, buf.readUInt32LE(pos + 8)); // PTR excluded below; TYPEDEF/VOLATILE/CONST/RESTRICT/TYPE_TAG
        if (kind === 2) this.refs.delete(id); // a pointer's target is not part of the struct
      }
      pos += 12 + trailer(kind, vlen);
      id++;
    }
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
