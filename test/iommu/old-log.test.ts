import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { readOldLog } from '../../src/iommu/old-log.js';
import { assessScenario, cleanupRoots } from './mock-roots.js';
import { qemuQ35Dmar } from './acpi-bytes.js';

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  cleanupRoots();
});

/** A root with proc/vmcore and a bin/ holding a stand-in vmcore-dmesg script. */
function setup(script: string): { root: Root; bin: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-old-'));
  tmp.push(dir);
  fs.mkdirSync(path.join(dir, 'proc'));
  fs.writeFileSync(path.join(dir, 'proc/vmcore'), 'ELF');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'vmcore-dmesg'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return { root: new Root(dir), bin };
}

describe('the crashed kernel\'s log', () => {
  it('runs vmcore-dmesg on the root\'s proc/vmcore and returns its output', async () => {
    const { root, bin } = setup('echo "[    0.000000] Linux version 6.1.0 (x)"; echo "[    1.0] DMAR: Intel(R) Virtualization Technology for Directed I/O"; echo "arg=$1"');
    const r = await readOldLog(root, { pathEnv: bin, anyRoot: true });
    expect(r?.problems).toEqual([]);
    expect(r?.text).toContain('Virtualization Technology');
    expect(r?.text).toContain(`arg=${root.dir}/proc/vmcore`);
  });

  it('is bounded by a timeout; partial output is kept', async () => {
    // The fake never exits by itself (sleep 600), so returning at all proves the bound; no wall-clock assertion
    // (a loaded machine makes those flaky). 2 s leaves a loaded host time to run the echo before the kill.
    const { root, bin } = setup('echo "[ 0.0] Linux version 6.1.0 (x)"; exec sleep 600');
    const r = await readOldLog(root, { pathEnv: bin, anyRoot: true, timeoutMs: 2000 });
    expect(r?.problems[0]).toMatch(/killed after \d+ ms \(timeout 2000 ms\)/);
    expect(r?.text).toContain('Linux version');
  });

  it('a failing vmcore-dmesg is a named problem', async () => {
    const { root, bin } = setup('echo "readmem: Bad address" >&2; exit 3');
    const r = await readOldLog(root, { pathEnv: bin, anyRoot: true });
    expect(r?.problems[0]).toMatch(/exit status 3: readmem: Bad address/);
  });

  it('without the binary: a note on how to get the log', async () => {
    const { root } = setup('true');
    const r = await readOldLog(root, { pathEnv: '/nonexistent', anyRoot: true });
    expect(r?.notes[0]).toMatch(/vmcore-dmesg not on PATH/);
  });

  it('never runs for a root other than / unless asked, nor without proc/vmcore', async () => {
    const { root, bin } = setup('echo hi');
    expect(await readOldLog(root, { pathEnv: bin })).toBeNull();
    expect(await readOldLog(new Root(os.tmpdir()), { pathEnv: bin, anyRoot: true })).toBeNull();
  });

  it('is not read when this kernel\'s evidence already decides (case 4 logged)', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'intel_iommu=on',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000' }],
      kmsg: '[ 0.0] Linux version 6.1.0 (x)\n[ 1.0] DMAR: Translation already enabled - trying to copy translation structures\n[ 1.1] DMAR: Copied translation tables from previous kernel for dmar0\n',
    });
    expect(r.case).toBe('4');
    expect(r.sources.oldLog).toBeNull();
    expect(r.evidence).toContainEqual({ source: 'old-log', fact: 'not read: this kernel\'s own evidence already tells what the crashed kernel did (pass --old-log FILE to read it anyway)' });
    expect(Object.keys(r.timingsMs ?? {})).toEqual(['tablesAndSysfs', 'kmsg', 'registers', 'oldLog', 'verdict', 'total']);
  });
});
