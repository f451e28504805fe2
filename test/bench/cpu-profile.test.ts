import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { breakdown } from '../../bench/cpu-profile.js';
import { tmpDir } from '../helpers/tmp-root.js';

describe('bench CPU profile breakdown', () => {
  it('charges the libc calls (native-bindings/) to whoever made them: the scan\'s opens are the scan\'s, not the IOMMU evidence\'s', () => {
    const dir = tmpDir();
    const bundle = path.join(dir, 'pci-reset-agent.mjs');
    fs.writeFileSync(bundle, '');
    // One generated line: columns 0, 10 and 20 come from three sources (VLQ "AAAA,UCAA,UCAA").
    fs.writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ['../src/scan/read-function.ts', '../native-bindings/fs-at.ts', '../src/iommu/assess.ts'], names: [], mappings: 'AAAA,UCAA,UCAA' }));
    const url = `file://${bundle}`;
    const frame = (id: number, columnNumber: number, children: number[] = []) => ({ id, callFrame: { functionName: `f${id}`, url, lineNumber: 0, columnNumber }, children });
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
        frame(2, 0, [3]), // scan
        frame(3, 10), // openat2 called by the scan
        frame(4, 20, [5]), // IOMMU evidence
        frame(5, 10), // openat2 called by the IOMMU evidence
      ],
      samples: [3, 3, 5],
      timeDeltas: [1000, 1000, 1000],
      startTime: 0,
      endTime: 3000,
    };
    const file = path.join(dir, 'run.cpuprofile');
    fs.writeFileSync(file, JSON.stringify(profile));
    const rows = Object.fromEntries(breakdown(file, bundle, `${bundle}.map`).rows.map((r) => [r.concern, r.ms]));
    expect(rows).toEqual({ 'scan (sysfs, config decode, topology)': 2, 'IOMMU evidence': 1 });
  });
});
