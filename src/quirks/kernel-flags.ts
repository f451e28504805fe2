import type { FunctionRecord } from '../scan/read-function.js';
import type { ResetFlags } from '../topology/reset-methods.js';
import { lookup } from './match.js';
import { KERNEL_FLAG_FUNCTIONS, type QuirkSubject, type QuirkTable } from './quirk-types.js';

/**
 * The PCI_DEV_FLAGS_NO_{FLR,PM,BUS}_RESET the running kernel has set on a function, as far as the table
 * knows: only entries mirroring a kernel quirk function that sets those flags count (field knowledge
 * restricts our plan, not the kernel's behaviour). `scan` passes this as `flagsFor`, so the methods it
 * infers are the kernel's at reset time.
 */
export function kernelFlagsFor(table: QuirkTable): (rec: FunctionRecord) => ResetFlags {
  const kernelOnly: QuirkTable = {
    entries: table.entries.filter((e) => e.kernel !== null && KERNEL_FLAG_FUNCTIONS.has(e.kernel)),
    sources: table.sources,
  };
  return (rec) => {
    const eff = lookup(kernelOnly, subjectOfRecord(rec)).effective;
    const flags: ResetFlags = {};
    if (eff.noFlr.length) flags.noFlr = true;
    if (eff.noPm.length) flags.noPm = true;
    if (eff.noBus.length) flags.noBus = true;
    return flags;
  };
}

/** The table's view of a function before topology is known: a root bus is read off the sysfs directory. */
export function subjectOfRecord(rec: FunctionRecord): QuirkSubject {
  const dirs = rec.path.split('/');
  const parentDir = dirs.length >= 2 ? dirs[dirs.length - 2]! : '';
  return {
    vendor: rec.vendor,
    device: rec.device,
    subsystemVendor: rec.subsystemVendor,
    subsystemDevice: rec.subsystemDevice,
    classCode: rec.classCode,
    revision: rec.revision,
    rootBus: /^pci[0-9a-f]{4,}:[0-9a-f]{2}$/i.test(parentDir),
  };
}
