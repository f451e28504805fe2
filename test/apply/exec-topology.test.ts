import { describe, expect, it } from 'vitest';
import { ExecTopology } from '../../src/apply/exec-topology.js';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { scanTree } from '../helpers/open.js';

describe('ExecTopology.dependents', () => {
  it.each([
    ['server', serverTree()],
    ['generated 250', generatedTree(250)],
  ])('%s: every function gives its non-VF children in scan order, then its VFs (as a pass over the scan gives them)', (_name, tree) => {
    const { result } = scanTree(tree);
    const topo = new ExecTopology(result);
    let withVfs = 0;
    let withKids = 0;
    for (const d of result.devices) {
      const naive = [...result.devices.filter((x) => x.parent === d.bdf && x.physfn === null).map((x) => x.bdf), ...d.virtfns];
      expect(topo.dependents(d.bdf)).toEqual(naive);
      if (d.virtfns.length) withVfs++;
      if (naive.length > d.virtfns.length) withKids++;
    }
    expect(withVfs).toBeGreaterThan(0);
    expect(withKids).toBeGreaterThan(0);
    expect(topo.dependents('0000:ff:1f.7')).toEqual([]);
  });

  it('hands out a fresh array each call (callers filter and keep it)', () => {
    const { result } = scanTree(serverTree());
    const topo = new ExecTopology(result);
    const bridge = result.devices.find((d) => topo.dependents(d.bdf).length > 0)!.bdf;
    topo.dependents(bridge).length = 0;
    expect(topo.dependents(bridge).length).toBeGreaterThan(0);
  });
});
