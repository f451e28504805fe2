// What the e2e asserts, from the artifacts the guest sends (agent JSON, its exit statuses, dmesg) and from
// the serial console. Each check is { ok, name, detail }; metrics are measured numbers for the README.
//
// The QEMU machine (e2e/driver.mjs): 8086:10d3 e1000e and 1b36:0010 nvme on root ports, 8086:100e e1000
// behind the 1b36:000e PCIe-to-PCI bridge, 1af4:1041 virtio-net behind the x3130 switch.
export const ENDPOINTS = [
  { id: '8086:10d3', what: 'e1000e' },
  { id: '1b36:0010', what: 'nvme' },
  { id: '8086:100e', what: 'e1000 behind the PCIe-to-PCI bridge' },
  { id: '1af4:1041', what: 'virtio-net behind the switch' },
];
/** DMAR fault records as intel-iommu prints them (6.1: "DMAR: [DMA Read NO_PASID] Request device …",
 * older: "DMAR: [DMA Read] Request device …", "DMAR: DRHD: handling fault status reg …"). */
const DMAR_FAULT = /DMAR: \[(DMA (Read|Write)|INTR-REMAP)[^\]]*\]|DRHD: handling fault status|fault reason 0x/;

class Checks {
  constructor() {
    this.list = [];
  }
  /** fn returns true/false, or a string (detail, ok), or throws (not ok with the message). */
  add(name, fn) {
    try {
      const r = fn();
      if (r === true || r === undefined) this.list.push({ ok: true, name });
      else if (typeof r === 'string') this.list.push({ ok: true, name, detail: r });
      else if (r && typeof r === 'object' && 'ok' in r) this.list.push({ name, ...r });
      else this.list.push({ ok: false, name, detail: 'false' });
    } catch (e) {
      this.list.push({ ok: false, name, detail: e.message });
    }
  }
}

function fail(msg) {
  throw new Error(msg);
}

/** An artifact's text or an error naming what is missing. */
function art(run, name) {
  const a = run.artifacts[name];
  if (a === undefined) fail(`artifact ${name} missing (see ${run.dir}/console.log)`);
  return a;
}

/** `NAME.rc` → { rc, t0, t1 }. */
function rcOf(run, name) {
  const [rc, t0, t1] = art(run, `${name}.rc`).trim().split(/\s+/).map(Number);
  return { rc, t0, t1 };
}

/** Parse a command's --json stdout; a failing or unregistered command is named with its stderr. */
function jsonOf(run, name) {
  const { rc } = rcOf(run, name);
  const out = art(run, `${name}.out`);
  const err = (run.artifacts[`${name}.err`] ?? '').trim().split('\n').slice(-3).join(' | ');
  if (rc !== 0) fail(`\`${name}\` exit status ${rc}: ${err || '(no stderr)'}`);
  try {
    return JSON.parse(out);
  } catch (e) {
    fail(`\`${name}\` printed no JSON (${e.message}); stderr: ${err}`);
  }
}

/** bdf → {vendor:device, headerType} from `scan --json`. */
function scanIndex(scan) {
  const m = new Map();
  for (const d of scan.devices) m.set(d.bdf, d);
  return m;
}
const idOf = (d) => `${d.vendor}:${d.device}`;

function endpointsIn(scan) {
  return ENDPOINTS.map((e) => {
    const d = scan.devices.find((x) => idOf(x) === e.id);
    if (!d) fail(`${e.what} (${e.id}) not in the scan`);
    return { ...e, bdf: d.bdf };
  });
}

/** Every function exactly once across steps' functions, unresettable and excluded (the plan contract). */
function planCoversOnce(plan, scan) {
  const seen = new Map();
  const note = (bdf, where) => seen.set(bdf, [...(seen.get(bdf) ?? []), where]);
  for (const s of plan.steps) for (const f of s.functions) note(f, `step ${s.id}`);
  for (const u of plan.unresettable) note(u.bdf, 'unresettable');
  for (const x of plan.excluded) note(x.bdf, 'excluded');
  const bad = scan.devices.filter((d) => (seen.get(d.bdf) ?? []).length !== 1).map((d) => `${d.bdf}: ${(seen.get(d.bdf) ?? ['nowhere']).join(',')}`);
  if (bad.length) fail(`not exactly once: ${bad.join('; ')}`);
  return `${plan.steps.length} steps, ${plan.unresettable.length} unresettable, ${plan.excluded.length} excluded`;
}

function noFlrOnBridges(plan, scan) {
  const idx = scanIndex(scan);
  const bad = plan.steps.filter((s) => /^(flr|af_flr|kernel:flr|kernel:af)$/.test(s.method) && idx.get(s.target)?.headerType === 1);
  if (bad.length) fail(`FLR planned on bridges: ${bad.map((s) => s.target).join(', ')}`);
  return true;
}

function endpointsPlanned(plan, scan) {
  const eps = endpointsIn(scan);
  const where = eps.map((e) => {
    const s = plan.steps.find((st) => st.functions.includes(e.bdf));
    if (!s) {
      const u = plan.unresettable.find((x) => x.bdf === e.bdf) ?? plan.excluded.find((x) => x.bdf === e.bdf);
      fail(`${e.what} ${e.bdf} has no step${u ? `: ${u.reason}` : ''}`);
    }
    return `${e.what.split(' ')[0]}=${s.method}@${s.target}`;
  });
  return where.join(', ');
}

/** Seconds from a dmesg line "[  12.345678] …" */
const stamp = (line) => {
  const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : null;
};

/** dmesg -> lines; kmsg records the runner writes start with "pci-reset-agent:". */
function dmesgLines(run) {
  return (run.artifacts['dmesg.txt'] ?? '').split('\n');
}

/**
 * The window a device keeps its old DMA in, from the capture kernel's dmesg lines, on its own clock
 * (dmesg stamps count from its start): capture-kernel start (0) → agent start (the runner) → apply.start
 * (node up, plan made) → first reset issued → last reset done → agent exit (the runner's "finished"
 * line). Also the runner-relative figures. Any build's run: e2e/window.mjs applies it to a console log.
 */
export function captureWindow(lines) {
  const out = {};
  const startLine = lines.find((l) => /pci-reset-agent: start at uptime/.test(l));
  const finished = lines.findIndex((l) => /pci-reset-agent: finished status=/.test(l));
  const stepEnds = lines.filter((l) => /pci-reset-agent: \{.*"event":"step\.end"/.test(l));
  const applyStart = lines.find((l) => /pci-reset-agent: \{.*"event":"apply\.start"/.test(l));
  if (!startLine || finished < 0) return out;
  const t0 = stamp(startLine);
  const r2 = (x) => Number(x.toFixed(2));
  if (applyStart) out.runnerStartToApplyStartS = r2(stamp(applyStart) - t0);
  if (stepEnds.length) out.runnerStartToLastResetS = r2(stamp(stepEnds[stepEnds.length - 1]) - t0);
  out.runnerStartToFinishS = r2(stamp(lines[finished]) - t0);
  const firstStart = lines.find((l) => /pci-reset-agent: \{.*"event":"step\.start"/.test(l));
  // Since issue 16 the agent's records reach the kernel log through a helper process, so their dmesg
  // stamps can be late; each carries `mono`, when the event happened (CLOCK_MONOTONIC). The runner's
  // start line was written by the shell right after reading /proc/uptime: its stamp minus that uptime
  // puts `mono` on the dmesg clock. Records without `mono` (older agents, written synchronously) keep
  // their stamp.
  const up = /start at uptime ([\d.]+)s/.exec(startLine)?.[1];
  const offset = up === undefined ? null : t0 - Number(up);
  const at = (l) => {
    const m = /"mono":([\d.]+)/.exec(l);
    return m && offset !== null ? r2(Number(m[1]) + offset) : stamp(l);
  };
  out.window = {
    agentStartS: t0,
    applyStartS: applyStart ? at(applyStart) : null,
    firstResetS: firstStart ? at(firstStart) : null,
    lastResetS: stepEnds.length ? at(stepEnds[stepEnds.length - 1]) : null,
    agentExitS: stamp(lines[finished]),
  };
  // How late the kernel log got the last step's record (helper queue and console), for the record.
  if (stepEnds.length) out.lastResetLoggedLateS = r2(stamp(stepEnds[stepEnds.length - 1]) - at(stepEnds[stepEnds.length - 1]));
  return out;
}

// ---------------------------------------------------------------------------------------------------------

export function checkPlain(run) {
  const c = new Checks();
  const metrics = {};
  c.add('kdump runner is inert on a live system (no /proc/vmcore): status 0, says why', () => {
    const { rc } = rcOf(run, 'runner-live');
    if (rc !== 0) fail(`status ${rc}`);
    const line = dmesgLines(run).find((l) => /pci-reset-agent: not a capture kernel/.test(l));
    if (!line) fail(`no "not a capture kernel" line in the kernel log; stderr: ${art(run, 'runner-live.err').trim()}`);
    return line.replace(/^\[[^\]]*\]\s*/, '');
  });
  let scan;
  c.add('scan --json lists the QEMU topology', () => {
    scan = jsonOf(run, 'scan');
    endpointsIn(scan);
    const bridges = scan.devices.filter((d) => d.headerType === 1).length;
    if (bridges < 6) fail(`only ${bridges} bridges (want 4 root ports, switch up+down, PCIe-to-PCI)`);
    return `${scan.devices.length} functions, ${bridges} bridges`;
  });
  c.add('iommu --json on the live guest: not a capture kernel, dmar0 found from ACPI and sysfs, TES read from GSTS', () => {
    const io = jsonOf(run, 'iommu');
    if (io.captureKernel !== false) fail(`captureKernel=${io.captureKernel}`);
    const u = io.units.find((x) => x.name === 'dmar0');
    if (!u) fail(`no dmar0 in units: ${JSON.stringify(io.units)}`);
    if (u.vendor !== 'intel' || u.registerBase !== '0xfed90000') fail(`dmar0 ${u.vendor} ${u.registerBase}`);
    if (u.translationEnabledNow !== true) fail(`translationEnabledNow=${u.translationEnabledNow}`);
    requireEvidence(io, /^acpi:DMAR/i, 'ACPI DMAR');
    requireEvidence(io, /^sysfs/i, 'sysfs');
    requireEvidence(io, /^mmio:dmar0/i, 'GSTS via /dev/mem');
    metrics.liveCase = io.case;
    return `case ${io.case}`;
  });
  c.add('plan --json on the live guest: every function once, every endpoint planned, no FLR on a bridge', () => {
    const plan = jsonOf(run, 'plan');
    if (!scan) fail('no scan');
    const a = planCoversOnce(plan, scan);
    noFlrOnBridges(plan, scan);
    return `${a}; ${endpointsPlanned(plan, scan)}`;
  });
  c.add('apply refuses on a live system without --allow-live, resets nothing', () => {
    const { rc } = rcOf(run, 'apply-live');
    const err = art(run, 'apply-live.err') + art(run, 'apply-live.out');
    if (rc === 0) fail('exit status 0');
    if (/unknown command/.test(err)) fail('apply is not a command yet');
    if (!/allow-live/.test(err)) fail(`does not name --allow-live: ${err.trim().slice(0, 300)}`);
    const out = art(run, 'apply-live.out').trim();
    if (out.startsWith('{')) {
      const rep = JSON.parse(out);
      const done = (rep.steps ?? []).filter((s) => s.status === 'ok');
      if (done.length) fail(`${done.length} steps ran`);
    }
    return `exit status ${rc}`;
  });
  c.add('no DMAR faults on the live guest', () => noFaults(dmesgLines(run)));
  return { checks: c.list, metrics: { ...metrics, ...bootTimes(run) } };
}

function requireEvidence(io, re, what) {
  const ev = io.evidence.filter((e) => re.test(e.source));
  if (!ev.length) fail(`no ${what} evidence; sources: ${[...new Set(io.evidence.map((e) => e.source))].join(', ')}`);
  return ev;
}

function noFaults(lines, from = 0) {
  const bad = lines.slice(from).filter((l) => DMAR_FAULT.test(l));
  if (bad.length) fail(`${bad.length} fault lines, first: ${bad[0]}`);
  return true;
}

/** Wall-clock seconds (host side) of the console markers. */
function bootTimes(run) {
  const at = (re) => run.lines.find((l) => re.test(l.text))?.t ?? null;
  const r = (x) => (x === null ? null : Number(x.toFixed(2)));
  return {
    firstInitS: r(at(/^@@ INIT mode=(plain|kdump)/)),
    crashS: r(at(/^@@ CRASH NOW/)),
    captureInitS: r(at(/^@@ INIT mode=capture/)),
    hooksDoneS: r(at(/^@@ HOOKS DONE/)),
    doneS: r(at(/^@@ DONE/)),
  };
}

export function checkKdump(run, { devmem }) {
  const c = new Checks();
  const metrics = {};
  c.add('first kernel reserved crashkernel and loaded the capture kernel with kexec -p', () => {
    const k = art(run, 'kexec.txt');
    if (!/^rc=0 loaded=1/.test(k)) fail(k.slice(0, 200));
    return k.split(' append=')[0];
  });
  c.add('drivers bound and DMA running in the first kernel', () => {
    const d = art(run, 'drivers-first.txt');
    for (const drv of ['e1000e', 'nvme', 'e1000', 'virtio-pci']) if (!d.includes(` ${drv}`)) fail(`${drv} not bound: ${d}`);
    // Interrupt counts prove the devices moved data: NVMe I/O queues and NIC receive.
    const irq = art(run, 'interrupts-first.txt');
    const count = (re) => irq.split('\n').filter((l) => re.test(l)).reduce((n, l) => n + l.trim().split(/\s+/).slice(1, 3).map(Number).filter((x) => !Number.isNaN(x)).reduce((a, b) => a + b, 0), 0);
    const nvme = count(/nvme0q[1-9]/);
    const eth = count(/eth\d/);
    if (!nvme || !eth) fail(`interrupts: nvme I/O ${nvme}, NICs ${eth}`);
    metrics.firstKernelIrqs = { nvmeIo: nvme, nics: eth };
    return `GSTS ${art(run, 'gsts-first.txt').trim().split('\n').map((l) => l.split(' ').pop()).join(' ')}; interrupts: nvme I/O ${nvme}, NICs ${eth}`;
  });
  c.add('capture kernel booted (sysrq-c panic, /proc/vmcore present)', () => {
    if (!run.lines.some((l) => /sysrq triggered crash/.test(l.text))) fail('no "sysrq triggered crash" on the console');
    const up = run.lines.find((l) => /^@@ CAPTURE KERNEL UP/.test(l.text));
    if (!up) fail('no "@@ CAPTURE KERNEL UP"');
    return up.text.replace(/^@@ /, '');
  });
  // A driver built into the capture kernel binds during its boot, before any hook can run (Debian's 6.12 has
  // CONFIG_VIRTIO_PCI=y, 6.1 has =m): the agent cannot come earlier than that, so only a loadable module
  // bound at the hook is a failure (something loaded drivers before the agent).
  c.add('no driver module bound before the pre-udev hook (built-in drivers listed)', () => {
    const d = art(run, 'drivers-at-hook.txt').trim();
    const bound = d ? d.split('\n') : [];
    const modules = bound.filter((l) => !/ builtin$/.test(l));
    if (modules.length) fail(modules.join('; '));
    return bound.length ? `built in and bound at boot: ${bound.join('; ')}` : 'none';
  });
  const lines = dmesgLines(run);
  c.add('capture kernel copied the old translation tables ("Copied translation tables from previous kernel")', () => {
    const l = lines.find((x) => /Copied translation tables from previous kernel/.test(x));
    if (!l) fail('not in dmesg');
    return l.replace(/^\[[^\]]*\]\s*/, '');
  });
  let finished = -1;
  c.add('the pre-udev hook ran the agent and it finished with status 0 (kernel log)', () => {
    if (run.artifacts['dmesg.txt'] === undefined) fail(`no dmesg from the capture kernel (see ${run.dir}/console.log)`);
    finished = lines.findIndex((l) => /pci-reset-agent: finished status=/.test(l));
    if (finished < 0) fail(`no "pci-reset-agent: finished" in dmesg; runner log: ${(run.artifacts['kdump.log'] ?? '').slice(-400)}`);
    const m = /finished status=(\d+) start=([\d.]+)s end=([\d.]+)s/.exec(lines[finished]);
    metrics.agentStatus = Number(m[1]);
    metrics.runnerStartUptimeS = Number(m[2]);
    metrics.runnerEndUptimeS = Number(m[3]);
    metrics.runnerWallS = Number((metrics.runnerEndUptimeS - metrics.runnerStartUptimeS).toFixed(2));
    if (metrics.agentStatus !== 0) fail(`${lines[finished]}; log: ${(run.artifacts['kdump.log'] ?? '').slice(-600)}`);
    return `runner ${metrics.runnerWallS}s`;
  });
  let io;
  c.add('iommu: capture kernel detected from /proc/vmcore', () => {
    io = jsonOf(run, 'iommu');
    if (io.captureKernel !== true) fail(`captureKernel=${io.captureKernel}`);
    requireEvidence(io, /vmcore/, '/proc/vmcore');
    return true;
  });
  c.add('iommu: DMAR unit dmar0 @ 0xfed90000 found from ACPI and sysfs', () => {
    if (!io) fail('no iommu report');
    const u = io.units.find((x) => x.name === 'dmar0');
    if (!u || u.vendor !== 'intel' || u.registerBase !== '0xfed90000') fail(`units: ${JSON.stringify(io.units)}`);
    requireEvidence(io, /^acpi:DMAR/i, 'ACPI DMAR');
    requireEvidence(io, /^sysfs/i, 'sysfs');
    return true;
  });
  if (devmem) {
    c.add('iommu: GSTS.TES read from the hardware (/dev/mem, iomem=relaxed): translation on now', () => {
      if (!io) fail('no iommu report');
      const ev = requireEvidence(io, /^mmio:dmar0/i, 'GSTS via /dev/mem');
      const u = io.units.find((x) => x.name === 'dmar0');
      if (u.translationEnabledNow !== true) fail(`translationEnabledNow=${u.translationEnabledNow}`);
      return ev.map((e) => e.fact).join('; ').slice(0, 200);
    });
  } else {
    c.add('iommu without iomem=relaxed: /dev/mem refusal reported as a problem, verdict from the kernel log', () => {
      if (!io) fail('no iommu report');
      if (io.evidence.some((e) => /^mmio:/i.test(e.source))) fail('claims an MMIO read although /dev/mem must be refused');
      const p = io.problems.find((x) => /dev\/mem|devmem|STRICT_DEVMEM|EPERM|EACCES|refused/i.test(x));
      if (!p) fail(`no problem names /dev/mem: ${JSON.stringify(io.problems)}`);
      return p.slice(0, 200);
    });
  }
  c.add('iommu: old tables copied, translation on before and now -> case 4', () => {
    if (!io) fail('no iommu report');
    const u = io.units.find((x) => x.name === 'dmar0');
    if (u.tablesCopied !== true) fail(`tablesCopied=${u.tablesCopied}`);
    if (io.case !== '4') fail(`case ${io.case}; missing: ${JSON.stringify(io.missing)}`);
    metrics.case = io.case;
    return `before=${u.translationEnabledBefore} now=${u.translationEnabledNow}`;
  });
  let scan;
  let plan;
  let rep;
  c.add('report.json: every step ok, config restored (no restore mismatches)', () => {
    rep = JSON.parse(art(run, 'report.json'));
    if (!Array.isArray(rep.steps) || rep.steps.length === 0) fail('no steps in the report');
    const bad = rep.steps.filter((s) => s.status !== 'ok' || (s.restoreMismatches ?? []).length);
    if (bad.length) fail(bad.map((s) => `step ${s.id} ${s.method}@${s.target} ${s.status} ${s.error ?? ''} ${JSON.stringify(s.restoreMismatches)}`).join('; '));
    metrics.agentDurationMs = rep.durationMs;
    metrics.steps = rep.steps.map((s) => ({ method: s.method, target: s.target, functions: s.functions, ms: s.durationMs }));
    return `${rep.steps.length} steps in ${rep.durationMs} ms: ${rep.steps.map((s) => `${s.method}@${s.target} ${s.durationMs}ms`).join(', ')}`;
  });
  c.add('every in-scope device reset with its planned method (report steps = plan steps), no FLR on bridges', () => {
    scan = jsonOf(run, 'scan');
    plan = jsonOf(run, 'plan');
    if (!rep) fail('no report');
    if (plan.iommuCase !== '4') fail(`plan.iommuCase=${plan.iommuCase}`);
    planCoversOnce(plan, scan);
    noFlrOnBridges(plan, scan);
    const key = (s) => `${s.method}@${s.target}[${[...s.functions].sort().join(',')}]`;
    const want = plan.steps.map(key).sort();
    const got = rep.steps.map(key).sort();
    if (JSON.stringify(want) !== JSON.stringify(got)) fail(`planned ${want.join(' ')} / done ${got.join(' ')}`);
    return endpointsPlanned(plan, scan);
  });
  c.add('the admin quirk table in the image (quirks.d) was honoured: e1000e not PM-reset', () => {
    if (!plan || !scan) fail('no plan');
    const e = endpointsIn(scan).find((x) => x.id === '8086:10d3');
    const step = plan.steps.find((s) => s.functions.includes(e.bdf));
    if (!step) fail(`e1000e ${e.bdf} has no step`);
    if (/pm$/.test(step.method)) fail(`e1000e planned ${step.method}`);
    const r = step.reasons.find((x) => x.includes('quirks.d/50-qemu-e1000e.quirks'));
    if (!r) fail(`no reason cites quirks.d/50-qemu-e1000e.quirks: ${step.reasons.join(' / ')}`);
    return `${step.method}@${step.target}`;
  });
  c.add('/proc/vmcore still readable after the agent (ELF header, 8 MB + 4 MB from the middle)', () => {
    const v = art(run, 'vmcore-read.txt');
    if (!/magic 177ELF/.test(v)) fail(v);
    const start = Number(/read_start (\d+)/.exec(v)?.[1]);
    const middle = Number(/read_middle (\d+)/.exec(v)?.[1]);
    if (start !== 8 << 20 || middle !== 4 << 20) fail(v.replace(/\n/g, '; '));
    metrics.vmcoreBytes = Number(/size (\d+)/.exec(v)[1]);
    return v.replace(/\n/g, '; ');
  });
  c.add('no DMAR faults after the agent finished (drivers loaded and doing DMA afterwards)', () => {
    if (finished < 0) fail('agent never finished');
    noFaults(lines, finished);
    const after = art(run, 'drivers-after.txt');
    for (const drv of ['e1000e', 'nvme', 'e1000', 'virtio-pci']) if (!after.includes(` ${drv}`)) fail(`${drv} did not bind after the reset: ${after}`);
    metrics.faultsBeforeAgent = lines.slice(0, finished).filter((l) => DMAR_FAULT.test(l)).length;
    return `drivers re-bound: ${after.trim().split('\n').length}; fault lines before the agent: ${metrics.faultsBeforeAgent}`;
  });
  c.add('the devices themselves saw the resets while the agent ran (QEMU trace: nvme FLR, e1000e reset, virtio status 0)', () => {
    const start = run.lines.find((l) => /pci-reset-agent: start at uptime/.test(l.text));
    const end = run.lines.find((l) => /pci-reset-agent: finished status=/.test(l.text));
    if (!start || !end) fail('agent start/finish not on the console');
    // Console lines are stamped when the host reads them, trace events when QEMU runs them: 0.5 s slack.
    const during = run.trace.filter((e) => e.t >= start.t - 0.5 && e.t <= end.t + 0.5);
    const seen = {
      nvme: during.filter((e) => e.event === 'pci_nvme_pci_reset').length,
      e1000e: during.filter((e) => e.event === 'e1000e_cb_qdev_reset').length,
      virtio: during.filter((e) => e.event === 'virtio_set_status' && /val 0\b/.test(e.args)).length,
    };
    metrics.deviceResetsSeenByQemu = seen;
    const missing = Object.entries(seen).filter(([, n]) => n === 0).map(([k]) => k);
    if (missing.length) fail(`no reset seen by QEMU for ${missing.join(', ')} between ${start.t.toFixed(1)}s and ${end.t.toFixed(1)}s (trace: ${run.dir}/qemu-trace.log)`);
    return `${Object.entries(seen).map(([k, n]) => `${k} ${n}`).join(', ')} (e1000 has no reset trace point in QEMU 7.2)`;
  });
  c.add('the emulated IOMMU recorded no DMA fault after the agent finished (QEMU vtd_dmar_fault)', () => {
    const end = run.lines.find((l) => /pci-reset-agent: finished status=/.test(l.text));
    if (!end) fail('agent never finished');
    const faults = run.trace.filter((e) => e.event === 'vtd_dmar_fault');
    metrics.vtdFaultsTotal = faults.length;
    const after = faults.filter((e) => e.t > end.t);
    if (after.length) fail(`${after.length} after the agent, first: ${after[0].args}`);
    return `${faults.length} in the whole run`;
  });
  c.add("every step's events reached the capture kernel's log (kmsg, nothing rate-limited away)", () => {
    if (!rep) fail('no report');
    const ends = lines.filter((l) => /pci-reset-agent: \{.*"event":"step\.end"/.test(l));
    const suppressed = lines.filter((l) => /node: \d+ output lines suppressed/.test(l));
    if (suppressed.length) fail(suppressed[0]);
    if (ends.length !== rep.steps.length) fail(`${ends.length} step.end events in dmesg for ${rep.steps.length} steps`);
    return `${ends.length} step.end events`;
  });
  Object.assign(metrics, captureWindow(lines));
  const mem = /MemTotal:\s+(\d+) kB/.exec(run.artifacts['meminfo-init.txt'] ?? '');
  if (mem) metrics.captureMemTotalKb = Number(mem[1]);
  return { checks: c.list, metrics: { ...metrics, ...bootTimes(run) } };
}

/**
 * One scenario of the IOMMU matrix (issue 13): the crash and capture are real, and the verdict must be the
 * case the scenario set up. `exp`: { case, unit (dmar0, ivhd0, null), copied (the unit's tablesCopied),
 * line (a capture-kernel dmesg line that must be there), note (a unit note), passthroughBefore,
 * allReset (every planned step ok; the time after the capture kernel's start is reported) }.
 */
export function checkIommuScenario(run, exp) {
  const c = new Checks();
  const metrics = {};
  const lines = dmesgLines(run);
  c.add('first kernel loaded the capture kernel (kexec -p) and crashed; capture kernel up', () => {
    const k = art(run, 'kexec.txt');
    if (!/^rc=0 loaded=1/.test(k)) fail(k.slice(0, 200));
    if (!run.lines.some((l) => /^@@ CAPTURE KERNEL UP/.test(l.text))) fail('no "@@ CAPTURE KERNEL UP"');
    return k.split(' append=')[1]?.trim().slice(0, 160);
  });
  if (exp.line) {
    c.add(`capture kernel log has ${exp.line}`, () => {
      const l = lines.find((x) => exp.line.test(x));
      if (!l) fail(`not in dmesg; IOMMU lines: ${lines.filter((x) => /DMAR|AMD-Vi|iommu/i.test(x)).slice(0, 12).map((x) => x.replace(/^\[[^\]]*\]\s*/, '')).join(' | ')}`);
      return l.replace(/^\[[^\]]*\]\s*/, '');
    });
  }
  let finished = -1;
  c.add('the pre-udev hook ran the agent, status 0', () => {
    finished = lines.findIndex((l) => /pci-reset-agent: finished status=/.test(l));
    if (finished < 0) fail(`no "pci-reset-agent: finished"; runner log: ${(run.artifacts['kdump.log'] ?? '').slice(-400)}`);
    const m = /finished status=(\d+) start=([\d.]+)s end=([\d.]+)s/.exec(lines[finished]);
    metrics.agentStatus = Number(m[1]);
    metrics.runnerStartUptimeS = Number(m[2]);
    metrics.runnerEndUptimeS = Number(m[3]);
    if (metrics.agentStatus !== 0) fail(lines[finished]);
    return `runner ${(metrics.runnerEndUptimeS - metrics.runnerStartUptimeS).toFixed(2)}s`;
  });
  let io;
  c.add(`iommu --json: case ${exp.case}`, () => {
    io = jsonOf(run, 'iommu');
    metrics.case = io.case;
    if (io.captureKernel !== true) fail(`captureKernel=${io.captureKernel}`);
    if (io.case !== exp.case) fail(`case ${io.case}; missing: ${JSON.stringify(io.missing).slice(0, 600)}; units: ${JSON.stringify(io.units.map((u) => ({ name: u.name, case: u.case, before: u.basis.before, now: u.basis.now })))}`);
    return `units: ${io.units.map((u) => `${u.name} case ${u.case} before=${u.translationEnabledBefore} now=${u.translationEnabledNow} copied=${u.tablesCopied}${u.oldTables ? ` oldTables=${u.oldTables}` : ''}`).join('; ') || 'none'}`;
  });
  c.add(exp.unit ? `iommu: unit ${exp.unit}, tablesCopied=${exp.copied}` : 'iommu: no unit, no IOMMU on the machine', () => {
    if (!io) fail('no iommu report');
    if (!exp.unit) {
      if (io.units.length) fail(`units: ${io.units.map((u) => u.name).join(', ')}`);
      return io.evidence.find((e) => /no IOMMU/.test(e.fact))?.fact ?? 'no units';
    }
    const u = io.units.find((x) => x.name === exp.unit);
    if (!u) fail(`no ${exp.unit}: ${io.units.map((x) => x.name).join(', ')}`);
    if (u.tablesCopied !== exp.copied) fail(`tablesCopied=${u.tablesCopied} (basis ${u.basis.tablesCopied})`);
    if (exp.note && !(u.notes ?? []).some((n) => exp.note.test(n))) fail(`no note ${exp.note}: ${JSON.stringify(u.notes)}`);
    return `before: ${u.basis.before}`.slice(0, 240);
  });
  if (exp.passthroughBefore !== undefined) {
    // iommu=pt in both kernels. In the guest the agent reads the crashed kernel's log only when this
    // kernel's evidence leaves its state open (vmcore-dmesg costs seconds before the first reset), and
    // here the copy messages settle it: `before` is then null, never false, and the devices are flagged
    // from this kernel's identity groups. The fixture replay (old-log.txt) must give before=true.
    c.add(`iommu: passthrough now=true and before=${exp.passthroughBefore} (or unread: null), devices flagged`, () => {
      if (!io) fail('no iommu report');
      const p = io.passthrough;
      if (p.now !== true) fail(`now=${p.now}: ${JSON.stringify(p.basis)}`);
      if (p.before !== exp.passthroughBefore && !(p.before === null && io.evidence.some((e) => e.source === 'old-log' && /^not read/.test(e.fact)))) fail(JSON.stringify(p));
      const flagged = io.devices.filter((d) => d.passthrough === true).length;
      if (exp.passthroughBefore && flagged === 0) fail('no device flagged passthrough');
      return `${JSON.stringify(p.basis)}; before=${p.before}; ${flagged} device(s) flagged`;
    });
  }
  let rep;
  let plan;
  c.add(exp.case === '1' ? 'case 1: the plan resets nothing, the report has no step' : 'report.json: every planned step ran and ended ok', () => {
    rep = JSON.parse(art(run, 'report.json'));
    plan = jsonOf(run, 'plan');
    if (plan.iommuCase !== exp.case) fail(`plan.iommuCase=${plan.iommuCase}`);
    if (exp.case === '1') {
      if (plan.steps.length || rep.steps.length) fail(`${plan.steps.length} planned, ${rep.steps.length} done`);
      return `${plan.excluded.length} excluded`;
    }
    const bad = (rep.steps ?? []).filter((s) => s.status !== 'ok');
    if (!rep.steps?.length) fail('no steps');
    if (bad.length) fail(bad.map((s) => `${s.method}@${s.target} ${s.status} ${s.error ?? ''}`).join('; '));
    const key = (s) => `${s.method}@${s.target}`;
    const missing = plan.steps.filter((s) => !rep.steps.some((r) => key(r) === key(s)));
    if (missing.length) fail(`planned but not done: ${missing.map(key).join(', ')}`);
    return `${rep.steps.length} steps: ${rep.steps.map(key).join(', ')}`;
  });
  if (exp.allReset) {
    c.add('every endpoint reset, and how long after the capture kernel started (dmesg uptime of the last step.end)', () => {
      if (!rep) fail('no report');
      const scan = jsonOf(run, 'scan');
      const eps = endpointsIn(scan);
      const done = new Set(rep.steps.filter((s) => s.status === 'ok').flatMap((s) => s.functions));
      const notReset = eps.filter((e) => !done.has(e.bdf));
      if (notReset.length) fail(`not reset: ${notReset.map((e) => `${e.what} ${e.bdf}`).join(', ')}`);
      const ends = lines.filter((l) => /pci-reset-agent: \{.*"event":"step\.end"/.test(l));
      const last = ends.length ? stamp(ends[ends.length - 1]) : null;
      metrics.lastResetUptimeS = last;
      metrics.firstResetUptimeS = ends.length ? stamp(ends[0]) : null;
      return `all ${eps.length} endpoints reset; first reset done ${metrics.firstResetUptimeS}s, last ${last}s after the capture kernel started`;
    });
  }
  c.add('/proc/vmcore still readable after the agent', () => {
    const v = art(run, 'vmcore-read.txt');
    if (!/magic 177ELF/.test(v)) fail(v);
    return true;
  });
  c.add('the capture kernel\'s evidence came back for the fixtures (capture snapshot, old log)', () => {
    if (!run.artifacts['capture.tgz.b64']) fail(`no capture snapshot; capture.err: ${(run.artifacts['capture.err'] ?? '').slice(0, 300)}`);
    const old = run.artifacts['old-dmesg.txt'] ?? '';
    if (!/Linux version/.test(old)) fail(`vmcore-dmesg gave no old log: ${old.slice(0, 200)}`);
    return `${old.split('\n').length} old-log lines`;
  });
  return { checks: c.list, metrics: { ...metrics, ...bootTimes(run) } };
}
