import type { ScanDevice, ScanResult } from '../scan/scan-result.js';

/** What the executor needs to know about where functions sit, from the scan that produced the plan. */
export class ExecTopology {
  private readonly byBdf: Map<string, ScanDevice>;

  constructor(readonly scan: ScanResult) {
    this.byBdf = new Map(scan.devices.map((d) => [d.bdf, d]));
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
    const kids = this.scan.devices.filter((x) => x.parent === bdf && x.physfn === null).map((x) => x.bdf);
    return [...kids, ...d.virtfns];
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
