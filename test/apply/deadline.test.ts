import { describe, expect, it } from 'vitest';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import { runOrigin, setRunOrigin } from '../../src/apply/deadline.js';
import { exitStatus, runApply } from '../../src/apply/run-apply.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { EXIT } from '../../src/errors/exit-codes.js';
import { rig, step, type Rig } from './fixture.js';
import { endpoint, smallTree } from './trees.js';

describe('the global deadline', () => {
  it('cuts a wait short, abandons what has not started, and leaves every bus out of reset', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { readyDelayMs: 5000 } } });
    const steps = [
      step({ id: 1, method: 'flr', target: '0000:01:00.0', wave: 1 }),
      step({ id: 2, method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'], wave: 1 }),
      step({ id: 3, method: 'flr', target: '0000:05:00.0', wave: 2 }),
    ];
    const res = await r.run(steps, { deadlineMs: 1000 });
    expect(res.deadlineReached).toBe(true);
    const [a, b, c] = res.steps;
    expect(a).toMatchObject({ status: 'abandoned' });
    expect(a!.error).toMatch(/deadline reached during waiting for 0000:01:00.0 to answer after FLR/);
    // The FLR was issued: its wait is held, then the function gets the hold's readiness cap (1 s), no more.
    expect(a!.notes.join()).toMatch(/0000:01:00.0 reset but not restored: it does not answer \(left at power-on values: no decode, no Bus Master\)/);
    expect(b!.status).toBe('ok');
    expect(c).toMatchObject({ status: 'abandoned', error: 'deadline reached before the step started', durationMs: 0 });
    expect(r.clock.now()).toBe(1000);
    expect(r.sim.readConfigAt('0000:00:02.0', 0x3e, 2) & 0x40).toBe(0);
    expect(r.sim.resetLog.filter((x) => x.bdf === '0000:05:00.0')).toEqual([]);
    expect(exitStatus({ deadlineReached: res.deadlineReached, steps: res.steps })).toBe(EXIT.APPLY_DEADLINE);
  });

  it('the reset pulse is held its full 2 ms even when the deadline falls inside it', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })], { deadlineMs: 1 });
    expect(res.steps[0]!.status).toBe('abandoned');
    expect(r.sim.violations).toEqual([]);
    expect(r.sim.readConfigAt('0000:00:02.0', 0x3e, 2) & 0x40).toBe(0);
  });

  it('a write blocked in the kernel is abandoned at the deadline (no grace: the step only waits for the kernel), and reset_method is put back only when it returns', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:01:00.0', action: { kind: 'hang' } });
    const res = await r.run([step({ method: 'kernel:pm', target: '0000:01:00.0' }), step({ method: 'flr', target: '0000:02:00.0' })], { deadlineMs: 3000 });
    expect(res.stuck).toEqual([res.steps[0]!.id]);
    expect(res.steps[0]).toMatchObject({ status: 'abandoned', error: 'deadline reached while the step was blocked (a write still in the kernel)' });
    expect(res.steps[1]!.status).toBe('ok');
    // Never written while the kernel's reset runs (it would change reset_methods[] under it); this write never returns.
    expect(r.sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('pm\n');
    expect(res.steps[0]!.notes.join()).toMatch(/put back to "flr pm bus" when the kernel's reset returns/);
    // Once the 250 ms grace; it bought nothing for a write blocked since long before the deadline.
    expect(r.clock.now()).toBe(3000);
  });

  it('a run that finishes early leaves no timer behind', async () => {
    const r = rig(smallTree());
    await r.run([step({ method: 'flr', target: '0000:01:00.0' })], { deadlineMs: 30000 });
    expect(r.clock.now()).toBe(100);
    expect(r.clock.pending).toBe(0);
  });
});

/**
 * The deadline in each phase of an FLR of a function with Transactions Pending (it clears 150 ms after Bus
 * Master goes off: reads at 0, 100 and 300 ms, FLR at 300, 100 ms, ready 20 ms later, restore). The
 * synchronous phases are reached by making one operation block for 50 ms across the deadline.
 */
describe('the deadline in every phase of a step', () => {
  const BDF = '0000:00:1e.0';
  const tree = () => smallTree((t) => t.add(endpoint(BDF, undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } })));
  const SLOW = { kind: 'slow', ms: 50 } as const;
  const rows: {
    phase: string;
    deadlineMs: number;
    fault?: Parameters<Rig['sim']['faults']['add']>[0];
    readyDelayMs?: number;
    status: string;
    error?: RegExp;
    reset: boolean;
    note: RegExp;
    end: number;
  }[] = [
    { phase: 'save', deadlineMs: 25, fault: { op: 'readConfigAt', bdf: BDF, offset: 0x10, times: 1, action: SLOW }, status: 'abandoned', error: /deadline reached during pending-transactions/, reset: false, note: /nothing was reset.*restored with Bus Master left off after the deadline/, end: 50 },
    { phase: 'quiesce', deadlineMs: 25, fault: { op: 'writeConfigAt', bdf: BDF, offset: 0x04, times: 1, action: SLOW }, status: 'abandoned', error: /deadline reached during pending-transactions/, reset: false, note: /nothing was reset/, end: 50 },
    { phase: 'pending wait', deadlineMs: 150, status: 'abandoned', error: /deadline reached during pending-transactions/, reset: false, note: /nothing was reset.*restored with Bus Master left off/, end: 150 },
    { phase: 'reset (the last Transactions Pending read blocks across the deadline)', deadlineMs: 325, fault: { op: 'readConfigAt', bdf: BDF, offset: 0x7a, after: 2, times: 1, action: SLOW }, status: 'abandoned', error: /deadline reached during the FLR \(the deadline passed before it was issued\)/, reset: false, note: /nothing was reset/, end: 350 },
    // Once the FLR is issued its 100 ms are held past the deadline, then the function is restored: never stranded.
    { phase: 'the 100 ms after the FLR', deadlineMs: 350, status: 'ok', reset: true, note: /^$/, end: 400 },
    // Past the deadline a function gets the hold's readiness cap (1 s from the FLR at 300 ms), no more.
    { phase: 'ready wait', deadlineMs: 1000, readyDelayMs: 5000, status: 'abandoned', error: /deadline reached during waiting for 0000:00:1e.0 to answer after FLR/, reset: true, note: /left at power-on values/, end: 1300 },
    { phase: 'restore', deadlineMs: 425, fault: { op: 'writeConfigAt', bdf: BDF, offset: 0x10, times: 1, action: SLOW }, status: 'ok', reset: true, note: /^$/, end: 450 },
  ];
  for (const row of rows) {
    it(`${row.phase}: ${row.status}${row.reset ? ', reset' : ', nothing reset'}, run over by ${row.end - row.deadlineMs} ms`, async () => {
      const r = rig(tree(), { behaviour: { [BDF]: { pendingMs: 150, ...(row.readyDelayMs ? { readyDelayMs: row.readyDelayMs } : {}) } } });
      if (row.fault) r.sim.faults.add(row.fault);
      const before = r.sim.readConfigAt(BDF, 0x04, 2);
      const res = await r.run([step({ method: 'flr', target: BDF }), step({ method: 'pm', target: '0000:01:00.0', wave: 2 })], { deadlineMs: row.deadlineMs });
      const s = res.steps[0]!;
      expect(s.status).toBe(row.status);
      if (row.error) expect(s.error).toMatch(row.error);
      expect(s.notes.join(' | ')).toMatch(row.note);
      expect(r.sim.resetLog.some((x) => x.bdf === BDF)).toBe(row.reset);
      expect(r.clock.now()).toBe(row.end);
      expect(res.deadlineReached).toBe(true);
      // The later step never started: nothing is begun after the deadline.
      expect(res.steps[1]).toMatchObject({ status: 'abandoned', error: 'deadline reached before the step started' });
      expect(r.sim.violations).toEqual([]);
      // Not reset: everything written back but Bus Master, so no DMA. Reset and cut short: power-on values, Bus Master off.
      const cmd = r.sim.get(BDF).u16(0x04);
      if (row.status === 'ok') expect(cmd).toBe(before);
      else expect(cmd & 0x4).toBe(0);
      if (!row.reset) expect(cmd).toBe(before & ~0x4);
    });
  }
});

describe('the whole command on a machine where nothing comes back', () => {
  it('apply --simulate --virtual-time: every function dead after its reset, 1 s deadline: the report at deadline + grace, stuck writes named', async () => {
    const dir = serverTree().file('proc/vmcore', '').write(tmpDir('pra-dead-'));
    let out = '';
    const code = await runApply(
      {
        root: dir, quirks: [], only: [], exclude: [], waveSize: '32', json: true, registers: false, deadline: 1000, readyTimeout: 60000, force: [],
        simulate: true, virtualTime: true,
        simulatorHook: (sim) => {
          for (const f of sim.functions) sim.behave(f.bdf, { neverReady: true });
        },
      },
      { out: (s) => (out += s), err: () => {} },
    );
    const report = JSON.parse(out) as ApplyReport;
    expect(code).toBe(EXIT.APPLY_DEADLINE);
    expect(report.deadlineReached).toBe(true);
    expect(report.durationMs).toBeLessThanOrEqual(1000 + 250);
    expect(report.steps.length).toBeGreaterThan(3);
    for (const s of report.steps) expect(s.status).toBe('abandoned');
    expect(report.problems.join()).toMatch(/still blocked in the kernel when the run ended/);
  });
});


/**
 * A step is started only with time for its planned waits; once its reset is issued it is held to the end
 * (mandated wait, back to D0, restore) past the deadline, so no function is left half-reset or in D3hot.
 */
describe('a reset is never stranded by the deadline', () => {
  it('a step whose planned waits do not fit in the time left is not started, and says why; one that fits still runs', async () => {
    const r = rig(smallTree());
    const res = await r.run(
      [
        step({ id: 1, method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'], waits: [{ what: 'secondary-bus', ms: 1100 }] }),
        step({ id: 2, method: 'flr', target: '0000:01:00.0', waits: [{ what: 'flr', ms: 100 }] }),
      ],
      { deadlineMs: 500 },
    );
    expect(res.steps[0]).toMatchObject({ status: 'abandoned', error: 'deadline reached for this step: not started: 500 ms left, needs 1120 ms (planned waits and quirk delay 1100 ms + 20 ms to restore)' });
    expect(res.steps[1]!.status).toBe('ok');
    expect(res.deadlineReached).toBe(true);
    expect(r.sim.trace.filter((t) => t.op === 'writeConfigAt' && (t.bdf === '0000:00:02.0' || t.bdf === '0000:02:00.0'))).toEqual([]);
    expect(exitStatus(res)).toBe(EXIT.APPLY_DEADLINE);
  });

  it('a bus reset issued just before the deadline is held through its wait and restored: nothing left at power-on values', async () => {
    const r = rig(smallTree());
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })], { deadlineMs: 30 });
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.waits.find((w) => w.what === 'secondary-bus')).toEqual({ what: 'secondary-bus', ms: 100 });
    expect(r.sim.violations).toEqual([]);
    expect(r.sim.diff(before)).toEqual([]);
    // The overrun is the 2 ms pulse and the mandated 100 ms (the function answers by then), nothing else.
    expect(r.clock.now()).toBe(102);
  });

  it('PM: a deadline inside the D3hot dwell does not leave the function in D3hot', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:1f.0': { d3hotMs: 40 } } });
    const res = await r.run([step({ method: 'pm', target: '0000:00:1f.0', d3hotDelayMs: 40 })], { deadlineMs: 20 });
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.readConfigAt('0000:00:1f.0', 0x44, 2) & 3).toBe(0);
    expect(r.sim.violations).toEqual([]);
    expect(r.clock.now()).toBe(80);
  });

  it('PM: a failure after the write of D3hot still brings the function back to D0 (after its dwell)', async () => {
    const r = rig(smallTree());
    // PMCSR reads: the probe's, the one before D3hot, then the check that D3hot was entered: that one fails.
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:00:1f.0', offset: 0x44, after: 2, times: 1, action: { kind: 'error', code: 'EIO' } });
    const res = await r.run([step({ method: 'pm', target: '0000:00:1f.0' })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.notes.join()).toMatch(/0000:00:1f.0 written back to D0 after the failure \(never left in D3hot\)/);
    expect(r.sim.readConfigAt('0000:00:1f.0', 0x44, 2) & 3).toBe(0);
    expect(r.sim.violations).toEqual([]);
  });

  it('a deadline before the reset was issued says so: nothing reset, Command had been 0x0400, written back with Bus Master off', async () => {
    const BDF = '0000:00:1e.0';
    const r = rig(smallTree((t) => t.add(endpoint(BDF, undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } }))), { behaviour: { [BDF]: { pendingMs: 150 } } });
    const res = await r.run([step({ method: 'flr', target: BDF })], { deadlineMs: 150 });
    const notes = res.steps[0]!.notes.join(' | ');
    expect(notes).toMatch(/nothing was reset: deadline reached during pending-transactions \(the deadline came before the reset was issued\); Command of 0000:00:1e.0 had been set to 0x0400/);
    expect(notes).not.toMatch(/power-on/);
    expect(r.sim.resetLog).toEqual([]);
  });
});

/**
 * Regression: the deadline started when execution did, after the scan, the IOMMU evidence, planning and
 * locking, so a slow start ran past it unbounded. It now counts from the process's start (bin.ts sets the
 * origin; here the vitest worker's start, long enough ago).
 */
describe('the deadline counts from the process start', () => {
  it('a run whose process started longer ago than the deadline starts no step, and still reports', async () => {
    const dir = smallTree().write(tmpDir());
    const deadline = 1000;
    while (performance.now() < deadline + 50) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    setRunOrigin(0);
    let out = '';
    try {
      const code = await runApply(
        { root: dir, quirks: [], only: [], exclude: [], waveSize: '32', json: true, registers: false, deadline, readyTimeout: 10000, force: [], simulate: true, assumeCaptureKernel: true },
        { out: (s) => (out += s), err: () => {} },
      );
      const report = JSON.parse(out) as ApplyReport;
      expect(code).toBe(EXIT.APPLY_DEADLINE);
      expect(report.deadlineReached).toBe(true);
      expect(report.steps.length).toBeGreaterThan(0);
      for (const s of report.steps) expect(s.status).toBe('abandoned');
      expect(report.durationMs).toBeGreaterThan(deadline);
    } finally {
      setRunOrigin(null);
    }
  });

  it('without an origin (a library call) the run begins with runApply()', () => {
    expect(runOrigin()).toBeNull();
  });
});
