// The BTF reader on the running kernel's own BTF (the packs' member checks use it: doctor).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/probes/btf.js';

describe('Btf', () => {
  it('finds structs and their members, inside anonymous unions as C does', () => {
    // Every kernel zctrace supports has BTF: a missing file is a failure here, not a skip.
    expect(existsSync('/sys/kernel/btf/vmlinux')).toBe(true);
    const btf = Btf.vmlinux();
    expect(btf.hasStruct('sk_buff')).toBe(true);
    expect(btf.hasStruct('no_such_struct_zctrace')).toBe(false);
    expect(btf.hasMember('sk_buff', 'len')).toBe(true);
    expect(btf.hasMember('sk_buff', 'next')).toBe(true); // union { struct { struct sk_buff *next; … }; struct rb_node rbnode; … }
    expect(btf.hasMember('sk_buff', 'dev')).toBe(true);
    expect(btf.hasMember('sk_buff', 'no_such_member')).toBe(false);
    expect(btf.hasMember('sk_buff', 'sk_refcnt')).toBe(false); // behind the pointer sk, not in sk_buff
  });

  it('refuses what is not BTF', () => {
    expect(() => new Btf(Buffer.alloc(64))).toThrow(/not a little-endian BTF blob/);
  });
});
