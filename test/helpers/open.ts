import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { scan } from '../../src/scan/scan.js';
import type { ScanResult, ScanDevice } from '../../src/scan/scan-result.js';
import type { MockTree } from '../../src/mock/tree-builder.js';
import { tmpDir } from './tmp-root.js';

/** Write a mock tree to a temp root and scan it. */
export function scanTree(tree: MockTree): { dir: string; result: ScanResult; dev: (bdf: string) => ScanDevice } {
  const dir = tree.write(tmpDir());
  const result = scanDir(dir);
  return { dir, result, dev: deviceGetter(result) };
}

export function scanDir(dir: string): ScanResult {
  return scan(new SysfsAccess(new Root(dir)), dir);
}

export function deviceGetter(result: ScanResult): (bdf: string) => ScanDevice {
  return (bdf) => {
    const d = result.devices.find((x) => x.bdf === bdf);
    if (!d) throw new Error(`no ${bdf} in scan`);
    return d;
  };
}
