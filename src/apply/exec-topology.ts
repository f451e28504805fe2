import type { ScanDevice, ScanResult } from '../scan/scan-result.js';

/** What the executor needs to know about where functions sit, from the scan that produced the plan. */
export class ExecTopology {
  private readonly byBdf: Map<string, ScanDevice>;
  /** Each bridge's children that are not VFs, in scan order (dependents() ran a pass over every function per call). */
  private readonly kids = new Map<string, string[]>();

  constructor(readonly scan: ScanResult) {
    this.byBdf = new Map(scan.devices.map((d) => [d.bdf, d]));
    for (const d of scan.devices) {
      if (d.parent === null || d.physfn !== null) continue;
      const list = this.kids.get(d.parent);
      if (list) list.push(d.bdf);
      else this.kids.set(d.parent, [d.bdf]);
    }
  }

  device(bdf: string): ScanDevice | undefined {
    return this.byBdf.get(bdf);
  }

  parent(bdf: string): string | null {
    return this.byBdf.get(bdf)?.parent ?? null;
  }

  /** Every function below a bridge (what a secondary bus reset reaches), VFs included. */
  below(bridge: string): string[] {
    return [...(this.byBdf.get(bridge)?.below ?? [])];
  }

  vfs(pf: string): string[] {
    return [...(this.byBdf.get(pf)?.virtfns ?? [])];
  }

  /**
   * Order in which functions come back after a reset: a bridge's children once the bridge is restored
   * (its bus numbers route to them again), a PF's VFs once its SR-IOV control is restored.
   */
  dependents(bdf: string): string[] {
    const d = this.byBdf.get(bdf);
    if (!d) return [];
    return [...(this.kids.get(bdf) ?? []), ...d.virtfns];
  }

  /** The Root Port above a function (the kernel's pcie_find_root_port()); null when there is none. */
  rootPort(bdf: string): string | null {
    let p = this.parent(bdf);
    for (let depth = 0; p !== null && depth < 256; depth++) {
      if (this.byBdf.get(p)?.pcieType === 'root_port') return p;
      p = this.parent(p);
    }
    return null;
  }
}
