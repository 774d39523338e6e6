// Every probe pack zctrace ships. Adding a pack: a program in probes/, a descriptor module in
// packs/, and one line here.
import type { PackDescriptor } from './pack.js';
import { iouringSendzc } from './packs/iouring-sendzc.js';
import { kernelTarget } from './packs/kernel-target.js';
import { msgzcKernel } from './packs/msgzc-kernel.js';
import { msgzcSyscalls } from './packs/msgzc-syscalls.js';
import { netpriv } from './packs/netpriv.js';

export const PACKS: readonly PackDescriptor[] = [msgzcSyscalls, iouringSendzc, msgzcKernel, netpriv, kernelTarget];

/** The pack of that name, or undefined. */
export function findPack(name: string): PackDescriptor | undefined {
  return PACKS.find((p) => p.name === name);
}
