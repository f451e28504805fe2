import { Root } from '../../src/access/root.js';
import { Deadline } from '../../src/apply/deadline.js';
import { MemoryLog } from '../../src/apply/event-log.js';
import { ExecTopology } from '../../src/apply/exec-topology.js';
import { executePlan, type ExecuteOptions } from '../../src/apply/execute.js';
import type { ExecEnv } from '../../src/apply/step-context.js';
import type { MockTree } from '../../src/mock/tree-builder.js';
import type { Plan, PlanStep } from '../../src/plan/plan.js';
import { scan } from '../../src/scan/scan.js';
import type { ScanResult } from '../../src/scan/scan-result.js';
import { loadSimulator, type SimulatorOptions } from '../../src/simulator/load.js';
import type { PciSimulator } from '../../src/simulator/simulator.js';
import { simulatedVfio } from '../../src/simulator/sim-vfio.js';
import { VirtualClock } from '../../src/time/clock.js';
import { tmpDir } from '../helpers/tmp-root.js';

export interface Rig {
  dir: string;
  sim: PciSimulator;
  clock: VirtualClock;
  scan: ScanResult;
  log: MemoryLog;
  env: (over?: Partial<ExecEnv> & { deadlineMs?: number }) => ExecEnv;
  run: (plan: Plan | PlanStep[], over?: Partial<ExecEnv> & { deadlineMs?: number }, options?: ExecuteOptions) => ReturnType<typeof executePlan>;
}

/** A mock tree written to a temp root, loaded into a simulator on virtual time, scanned through it. */
export function rig(tree: MockTree, options: Partial<SimulatorOptions> = {}): Rig {
  return rigAt(tree.write(tmpDir('pra-apply-')), options);
}

/** The same, from a tree already written (loading never changes it, so one tree serves many runs). */
export function rigAt(dir: string, options: Partial<SimulatorOptions> = {}): Rig {
  const clock = new VirtualClock();
  const sim = loadSimulator(new Root(dir), { clock, ...options });
  const result = scan(sim, dir);
  sim.trace.length = 0;
  const log = new MemoryLog();
  const env = (over: Partial<ExecEnv> & { deadlineMs?: number } = {}): ExecEnv => ({
    access: sim,
    clock,
    log,
    topo: new ExecTopology(result),
    deadline: new Deadline(clock, clock.now() + (over.deadlineMs ?? 30000)),
    readyTimeoutMs: 10000,
    vfio: async () => simulatedVfio(sim),
    ...over,
  });
  return {
    dir,
    sim,
    clock,
    scan: result,
    log,
    env,
    run: (plan, over, options) => executePlan(Array.isArray(plan) ? planOf(plan) : plan, env(over), options),
  };
}

/**
 * A fresh rig from another one's pristine simulator (cloned, on its own clock) and scan: what a sweep
 * that replays one scenario hundreds of times uses instead of reading the tree from disk each time.
 */
export function rigFrom(base: Rig): Rig {
  const clock = new VirtualClock();
  const sim = base.sim.clone(clock);
  const log = new MemoryLog();
  const env = (over: Partial<ExecEnv> & { deadlineMs?: number } = {}): ExecEnv => ({
    access: sim,
    clock,
    log,
    topo: new ExecTopology(base.scan),
    deadline: new Deadline(clock, clock.now() + (over.deadlineMs ?? 30000)),
    readyTimeoutMs: 10000,
    vfio: async () => simulatedVfio(sim),
    ...over,
  });
  return {
    dir: base.dir,
    sim,
    clock,
    scan: base.scan,
    log,
    env,
    run: (plan, over, options) => executePlan(Array.isArray(plan) ? planOf(plan) : plan, env(over), options),
  };
}

export function planOf(steps: PlanStep[]): Plan {
  return { iommuCase: '4', steps, unresettable: [], excluded: [], notes: [] };
}

let nextId = 1;

/** A plan step with the usual defaults: wave 1, independent of nothing, no quirk delays. */
export function step(s: Partial<PlanStep> & Pick<PlanStep, 'method' | 'target'>): PlanStep {
  return {
    id: s.id ?? nextId++,
    functions: s.functions ?? [s.target],
    independentOf: [],
    wave: 1,
    reasons: ['test'],
    saveRestore: [],
    waits: [],
    delayAfterMs: 0,
    d3hotDelayMs: 10,
    fallbacks: [],
    ...s,
  };
}
