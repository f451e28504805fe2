#!/usr/bin/env node
// e2e driver: boots the guest images under QEMU (q35 + emulated VT-d + PCIe topology), one scenario at a
// time, timestamps the serial console, collects the artifacts the guest's /init frames on its second serial
// port, and checks them. The QEMU command line is adapted from shared/reference/qemu-kdump/run-qemu.sh.
//
// node e2e/driver.mjs --kernel VMLINUZ --images DIR --out DIR [--scenarios plain,kdump,kdump-strict]
//                     [--crashkernel 256M] [--accel tcg|kvm] [--timeout-scale N]
// Prints one `ok`/`not ok` line per check and a closing "N passed, N failed" line; exit 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPlain, checkKdump, checkIommuScenario } from './checks.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const kernel = opt('kernel');
const images = opt('images');
const outRoot = opt('out');
const scenarios = opt('scenarios', 'plain,kdump,kdump-strict').split(',').filter(Boolean);
const crashkernel = opt('crashkernel', '256M');
const timeoutScale = Number(opt('timeout-scale', '1'));
// --kernel-label 6.1: names fixtures (<scenario>-<label>); --fixtures DIR: save each capture kernel's
// snapshot, old log and verdict there (test/fixtures/iommu when refreshing the repo's fixtures).
const kernelLabel = opt('kernel-label', path.basename(opt('kernel', 'kernel')).replace(/^vmlinuz-/, ''));
const fixturesDir = opt('fixtures');
if (!kernel || !images || !outRoot) {
  process.stderr.write('usage: driver.mjs --kernel VMLINUZ --images DIR --out DIR [--scenarios a,b] [--crashkernel SIZE] [--accel tcg|kvm]\n');
  process.exit(2);
}

/** KVM only where it can boot a stock kernel: real VMX/SVM, not the kvm_pvm nested variant. */
function chooseAccel() {
  const forced = opt('accel', process.env.PRA_E2E_ACCEL);
  if (forced) return { accel: forced, why: 'forced' };
  if (!fs.existsSync('/dev/kvm')) return { accel: 'tcg', why: 'no /dev/kvm' };
  if (fs.existsSync('/sys/module/kvm_pvm')) return { accel: 'tcg', why: '/dev/kvm is kvm_pvm (nested PVM): stock kernels hang under it' };
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
  if (!/\b(vmx|svm)\b/.test(cpu)) return { accel: 'tcg', why: 'CPU has no vmx/svm' };
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
  } catch (e) {
    return { accel: 'tcg', why: `/dev/kvm: ${e.code}` };
  }
  return { accel: 'kvm', why: 'vmx/svm and /dev/kvm usable' };
}

/** The machine: root ports at 2.5 GT/s x1 (QEMU 7.2's default speed makes the kernel wait for DLLLA and
 * fail bus resets with ENOTTY), e1000e and nvme on root ports, e1000 behind a PCIe-to-PCI bridge,
 * virtio-net behind a PCIe switch; every NIC on one QEMU-internal hub (no host network). */
function qemuArgs({ accel, mem, initrd, append, dataFile, nvmeImg, traceFile, iommu = 'vtd' }) {
  const rp = (n) => ['-device', `pcie-root-port,id=rp${n},chassis=${n},slot=${n},x-speed=2_5,x-width=1`];
  // The IOMMU of the scenario: VT-d legacy or scalable mode, AMD-Vi (QEMU's amd-iommu on q35), none.
  const iommuDev = {
    vtd: ['-device', 'intel-iommu,intremap=on,caching-mode=on'],
    'vtd-sm': ['-device', 'intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on'],
    amd: ['-device', 'amd-iommu,intremap=on'],
    none: [],
  }[iommu];
  return [
    '-machine', 'q35,kernel-irqchip=split', '-accel', accel, '-cpu', accel === 'kvm' ? 'host,-arch-capabilities' : 'max',
    '-smp', '2', '-m', mem, '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio', '-serial', `file:${dataFile}`, '-monitor', 'none',
    ...iommuDev,
    ...rp(1), '-netdev', 'hubport,id=n1,hubid=0', '-device', 'e1000e,bus=rp1,netdev=n1',
    ...rp(2), '-drive', `file=${nvmeImg},if=none,id=d0,format=raw`, '-device', 'nvme,drive=d0,serial=prae2e0,bus=rp2',
    ...rp(3), '-device', 'pcie-pci-bridge,id=br1,bus=rp3',
    '-netdev', 'hubport,id=n3,hubid=0', '-device', 'e1000,bus=br1,addr=1,netdev=n3',
    ...rp(4), '-device', 'x3130-upstream,id=up1,bus=rp4', '-device', 'xio3130-downstream,id=dn1,bus=up1,chassis=5,slot=0',
    '-netdev', 'hubport,id=n4,hubid=0', '-device', 'virtio-net-pci,bus=dn1,netdev=n4',
    // Device-side evidence (QEMU's own trace): function resets as each device model sees them, VT-d
    // translation switches and DMA faults the IOMMU model records, whatever the guest logs.
    ...TRACE_EVENTS.flatMap((e) => ['-trace', `enable=${e}`]), '-D', traceFile, '-msg', 'timestamp=on',
    '-kernel', kernel, '-initrd', initrd, '-append', append,
  ];
}

const TRACE_EVENTS = ['pci_nvme_pci_reset', 'e1000e_cb_qdev_reset', 'virtio_set_status', 'vtd_dmar_fault', 'vtd_dmar_enable', 'vtd_reg_write_gcmd'];

const SCENARIOS = {
  plain: {
    what: 'plain boot: scan, iommu, plan on the live guest; apply refuses without --allow-live',
    mem: '1G', initrd: 'capture.img', timeoutS: 180,
    append: 'console=ttyS0 intel_iommu=on iomem=relaxed panic=5 pra.mode=plain',
    check: checkPlain,
  },
  kdump: {
    what: `crash with DMA in flight, capture kernel (crashkernel=${crashkernel}, iomem=relaxed) runs the agent`,
    mem: '1536M', initrd: 'first.img', timeoutS: 240,
    append: `console=ttyS0 intel_iommu=on iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel}`,
    check: (run) => checkKdump(run, { devmem: true }),
  },
  // The IOMMU matrix (issue 13): each boots a real first kernel, crashes it, and checks the verdict
  // against what the scenario set up. `kdump` above is the VT-d legacy one.
  'vtd-scalable': {
    what: 'VT-d in scalable mode (x-scalable-mode=on, intel_iommu=on,sm_on in both kernels)',
    mem: '1536M', initrd: 'first.img', timeoutS: 240, iommu: 'vtd-sm',
    append: `console=ttyS0 intel_iommu=on,sm_on iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel}`,
    check: (run) => checkIommuScenario(run, { case: '4', unit: 'dmar0', copied: true, line: /Copied translation tables from previous kernel for dmar0/ }),
  },
  'vtd-sm-mismatch': {
    what: 'scalable mode in the crashed kernel, legacy mode in the capture kernel (intel_iommu=sm_off): the copy fails',
    mem: '1536M', initrd: 'first.img', timeoutS: 240, iommu: 'vtd-sm',
    append: `console=ttyS0 intel_iommu=on,sm_on iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel} pra.capture_append=intel_iommu=sm_off`,
    check: (run) => checkIommuScenario(run, { case: '4', unit: 'dmar0', copied: false, line: /Failed to copy translation tables from previous kernel for dmar0/, note: /window during boot/ }),
  },
  amd: {
    what: 'AMD-Vi (QEMU amd-iommu on q35), on by default in both kernels',
    mem: '1536M', initrd: 'first.img', timeoutS: 240, iommu: 'amd',
    append: `console=ttyS0 iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel}`,
    check: (run) => checkIommuScenario(run, { case: '4', unit: 'ivhd0', copied: true, line: /(Copied|Reused) DEV table from previous kernel/ }),
  },
  pt: {
    what: 'VT-d with iommu=pt (identity domains) in the first kernel, inherited by the capture kernel',
    mem: '1536M', initrd: 'first.img', timeoutS: 240,
    append: `console=ttyS0 intel_iommu=on iommu=pt iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel}`,
    check: (run) => checkIommuScenario(run, { case: '4', unit: 'dmar0', copied: true, passthroughBefore: true, line: /Copied translation tables from previous kernel for dmar0/ }),
  },
  'capture-vtd-off': {
    what: 'VT-d on in the first kernel, intel_iommu=off in the capture kernel: case 3b, the agent is the only defence',
    mem: '1536M', initrd: 'first.img', timeoutS: 240,
    append: `console=ttyS0 intel_iommu=on iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel} pra.capture_append=intel_iommu=off`,
    check: (run) => checkIommuScenario(run, { case: '3b', unit: 'dmar0', copied: false, allReset: true }),
  },
  'no-iommu': {
    what: 'no IOMMU at all (no intel-iommu device): case 1, the plan resets nothing',
    mem: '1536M', initrd: 'first.img', timeoutS: 240, iommu: 'none',
    append: `console=ttyS0 iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel}`,
    check: (run) => checkIommuScenario(run, { case: '1', unit: null, copied: null }),
  },
  'kdump-strict': {
    what: `same crash, capture kernel WITHOUT iomem=relaxed: /dev/mem refused, the agent degrades`,
    mem: '1536M', initrd: 'first.img', timeoutS: 240,
    append: `console=ttyS0 intel_iommu=on iomem=relaxed panic=5 pra.mode=kdump crashkernel=${crashkernel} pra.capture_iomem=strip`,
    check: (run) => checkKdump(run, { devmem: false }),
  },
};

/** Frames written by the guest: `@@PRA-BEGIN name` … `@@PRA-END name` (serial adds \r). */
function parseArtifacts(text) {
  const out = {};
  const lines = text.replace(/\r/g, '').split('\n');
  let name = null;
  let buf = [];
  for (const l of lines) {
    const b = /^@@PRA-BEGIN (\S+)$/.exec(l);
    if (b) {
      name = b[1];
      buf = [];
      continue;
    }
    if (name && l === `@@PRA-END ${name}`) {
      // emit() adds a newline after the content: drop that one.
      if (buf.length && buf[buf.length - 1] === '') buf.pop();
      out[name] = buf.join('\n');
      name = null;
      continue;
    }
    if (name) buf.push(l);
  }
  return out;
}

/** QEMU's log trace backend: `PID@EPOCH.USEC:event args`; times made relative to our spawn, like the console's. */
function parseTrace(file, epoch0) {
  if (!fs.existsSync(file)) return [];
  const out = [];
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\d+@(\d+\.\d+):(\S+)\s*(.*)$/.exec(l);
    if (m) out.push({ t: Number(m[1]) - epoch0, event: m[2], args: m[3] });
  }
  return out;
}

function runScenario(name, sc, accel) {
  const dir = path.join(outRoot, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dataFile = path.join(dir, 'data.txt');
  const nvmeImg = path.join(dir, 'nvme.img');
  fs.writeFileSync(nvmeImg, '');
  fs.truncateSync(nvmeImg, 64 << 20);
  // Some recognisable data on the disk the first kernel reads in a loop.
  const fd = fs.openSync(nvmeImg, 'r+');
  fs.writeSync(fd, Buffer.alloc(1 << 20, 0x5a), 0, 1 << 20, 0);
  fs.closeSync(fd);
  const traceFile = path.join(dir, 'qemu-trace.log');
  // no_timer_check: on a loaded host TCG runs the guest so slowly that check_timer() decides "timer doesn't
  // work through Interrupt-remapped IO-APIC" and panics at 0.05 s (seen with 8 helpers sharing 2 cores);
  // the capture kernel inherits the word.
  const append = `${sc.append} no_timer_check`;
  const args = qemuArgs({ accel, mem: sc.mem, initrd: path.join(images, sc.initrd), append, dataFile, nvmeImg, traceFile, iommu: sc.iommu });
  const consoleLog = path.join(dir, 'console.log');
  const logFd = fs.openSync(consoleLog, 'w');
  fs.writeSync(logFd, `# qemu-system-x86_64 ${args.join(' ')}\n`);
  const timeoutMs = sc.timeoutS * 1000 * timeoutScale;
  const t0 = process.hrtime.bigint();
  const epoch0 = Date.now() / 1000;
  const wall = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const lines = [];
  return new Promise((resolve) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let pending = '';
    const onData = (chunk) => {
      pending += chunk.toString('utf8');
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, i).replace(/\r$/, '');
        pending = pending.slice(i + 1);
        const t = wall();
        lines.push({ t, text });
        fs.writeSync(logFd, `[${t.toFixed(2).padStart(7)}] ${text}\n`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => fs.writeSync(logFd, `[qemu stderr] ${c}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending) lines.push({ t: wall(), text: pending });
      const wallS = wall();
      fs.writeSync(logFd, `# qemu exit code=${code} signal=${signal} timedOut=${timedOut} wall=${wallS.toFixed(1)}s\n`);
      fs.closeSync(logFd);
      const data = fs.existsSync(dataFile) ? fs.readFileSync(dataFile, 'utf8') : '';
      fs.rmSync(nvmeImg, { force: true });
      const trace = parseTrace(traceFile, epoch0);
      resolve({ name, dir, code, signal, timedOut, wallS, lines, trace, artifacts: parseArtifacts(data), complete: data.includes('@@PRA-EOF') });
    });
  });
}

/**
 * The capture kernel's evidence as a unit-test fixture: the agent's `capture` snapshot (root/), the
 * crashed kernel's log (old-log.txt, vmcore-dmesg), the registers read with devmem, the in-guest verdict
 * (iommu.json) and a SOURCE line saying where it all came from.
 */
function saveFixture(run, scenario, sc) {
  const b64 = run.artifacts['capture.tgz.b64'];
  if (!b64) return null;
  const dir = path.join(fixturesDir, `${scenario}-${kernelLabel}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'root'), { recursive: true });
  const tgz = Buffer.from(b64.replace(/\s+/g, ''), 'base64');
  const x = spawnSync('tar', ['-xzf', '-', '-C', path.join(dir, 'root')], { input: tgz });
  if (x.status !== 0) throw new Error(`tar: ${x.stderr}`);
  const put = (file, text) => text !== undefined && fs.writeFileSync(path.join(dir, file), text.endsWith('\n') ? text : `${text}\n`);
  put('old-log.txt', run.artifacts['old-dmesg.txt']);
  put('registers.txt', run.artifacts['registers-capture.txt']);
  put('first-dmesg.txt', run.artifacts['dmesg-first.txt']);
  const io = run.artifacts['iommu.out'];
  if (io) put('iommu.json', JSON.stringify(JSON.parse(io), null, 1));
  const qemu = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  put('SOURCE', `Captured ${new Date().toISOString().slice(0, 10)} by e2e/driver.mjs scenario ${scenario} (${sc.what}): a real crash under ${qemu}, kernel ${kernelLabel}; first kernel: ${sc.append}; root/ is the agent's \`capture\` in the capture kernel, old-log.txt is vmcore-dmesg /proc/vmcore there, registers.txt is devmem there.`);
  return dir;
}

const results = [];
let passed = 0;
let failed = 0;
function report(scenario, checks) {
  for (const c of checks) {
    if (c.ok) passed++;
    else failed++;
    const detail = c.detail ? ` — ${String(c.detail).replace(/\s*\n\s*/g, ' | ').slice(0, 900)}` : '';
    process.stdout.write(`${c.ok ? 'ok' : 'not ok'} - ${scenario}: ${c.name}${detail}\n`);
  }
}

const qv = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
if (qv.status !== 0) {
  process.stdout.write(`SKIP e2e: QEMU cannot run at all (qemu-system-x86_64 --version: ${qv.error?.code ?? qv.stderr.trim()})\n`);
  process.stdout.write('e2e: 0 passed, 0 failed, 1 skipped\n');
  process.exit(0);
}
const { accel, why } = chooseAccel();
process.stdout.write(`# ${qv.stdout.split('\n')[0]}; accel=${accel} (${why}); crashkernel=${crashkernel}\n`);
fs.mkdirSync(outRoot, { recursive: true });
for (const name of scenarios) {
  const sc = SCENARIOS[name];
  if (!sc) {
    report(name, [{ ok: false, name: 'known scenario', detail: `no scenario ${name}` }]);
    continue;
  }
  process.stdout.write(`# ${name}: ${sc.what}\n`);
  const run = await runScenario(name, sc, accel);
  let checks;
  let metrics = {};
  try {
    ({ checks, metrics } = sc.check(run));
  } catch (e) {
    // A check module bug must not hide the other results: it is one failed check.
    checks = [{ ok: false, name: 'checks ran', detail: e.stack }];
  }
  const timing = [{ ok: !run.timedOut, name: `QEMU finished within ${sc.timeoutS * timeoutScale}s`, detail: `wall ${run.wallS.toFixed(1)}s, exit ${run.code ?? run.signal}` },
    { ok: run.complete, name: 'guest sent all its artifacts', detail: run.complete ? '' : `got ${Object.keys(run.artifacts).join(', ') || 'none'}; see ${path.join(run.dir, 'console.log')}` }];
  report(name, [...timing, ...checks]);
  const summary = { scenario: name, kernel: kernelLabel, accel, crashkernel, wallS: Number(run.wallS.toFixed(2)), ...metrics };
  if (fixturesDir) {
    try {
      const saved = saveFixture(run, name === 'kdump' ? 'vtd-legacy' : name, sc);
      if (saved) process.stdout.write(`# ${name}: fixture saved in ${saved}\n`);
    } catch (e) {
      report(name, [{ ok: false, name: 'fixture saved', detail: e.message }]);
    }
  }
  fs.writeFileSync(path.join(run.dir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  process.stdout.write(`# ${name} metrics: ${JSON.stringify(summary)}\n`);
  if (metrics.window) {
    const w = metrics.window;
    const f = (x) => (x === null ? '?' : `${x.toFixed(2)} s`);
    process.stdout.write(`# ${name} window (capture kernel's dmesg clock): kernel start 0 → agent start ${f(w.agentStartS)} → apply.start ${f(w.applyStartS)} → first reset ${f(w.firstResetS)} → last reset ${f(w.lastResetS)} → agent exit ${f(w.agentExitS)}\n`);
  }
  results.push(summary);
}
fs.writeFileSync(path.join(outRoot, 'summary.json'), `${JSON.stringify(results, null, 1)}\n`);
process.stdout.write(`# boots took ${results.reduce((t, r) => t + r.wallS, 0).toFixed(0)} s in all\n`);
process.stdout.write(`e2e: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
