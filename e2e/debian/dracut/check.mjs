#!/usr/bin/env node
// Checks of the real-dracut end-to-end (e2e/debian/dracut/run.sh), from the guest build's records and
// what the capture kernel's harness saved to the disk (/var/crash/pra-e2e-dracut/, read with debugfs).
// Usage: node e2e/debian/dracut/check.mjs --run DIR --guest DIR [--crashkernel SIZE]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
const run = arg('--run');
const guest = arg('--guest');
const crashkernel = process.argv.includes('--crashkernel') ? arg('--crashkernel') : null;
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const ev = path.join(run, 'disk/pra-e2e-dracut');
const DRIVER_BOUND = /\b(e1000e 0000:|e1000 0000:|nvme nvme\d+: pci function|virtio_net virtio|virtio_blk virtio\d+: \[vd)/;
const results = [];
const metrics = { wallSeconds: Number(read(path.join(run, 'wall-seconds')) || 0), build: JSON.parse(read(path.join(guest, 'build.json')) || '{}') };
// The guest records whether its kdump image was squashed (build-guest.sh, SQUASH).
const squash = metrics.build.squash === 'yes';
function check(name, fn) {
  try {
    results.push({ name, ok: true, detail: fn() ?? '' });
  } catch (e) {
    results.push({ name, ok: false, detail: e.message });
  }
}
const fail = (m) => {
  throw new Error(m);
};

// The agent's files in a kdump image listing (lsinitrd: `ls -l`-style lines in the cpio part, `unsquashfs -ll`
// lines, "squashfs-root/…", in its "Squashed content" part).
const AGENT_FILES = ['pci-reset-agent.mjs', 'node.squashfs', 'pci-reset-agent-kdump', 'pci-reset-agent.service', 'sysinit.target.wants/pci-reset-agent.service'];
// lsinitrd (dracut 059 lsinitrd.sh list_squash_content()) prints the cpio's files, then, when the cpio
// holds squash-root.img, "Squashed content (squash-root.img):" and that image's `unsquashfs -ll` listing.
const SQUASHED_HEADER = 'Squashed content (squash-root.img):';
const kdumpList = read(path.join(guest, 'kdump-initrd.list'));
const [outerList, squashedList = ''] = kdumpList.split(SQUASHED_HEADER);
metrics.kdumpImageBytes = metrics.build.kdumpImageBytes ?? null;
metrics.crashkernel = crashkernel;

check('dracut built the kdump image with the shipped module, keyed on IN_KDUMP (lsinitrd)', () => {
  const where = squash ? squashedList : kdumpList;
  const missing = AGENT_FILES.filter((w) => !where.includes(w));
  if (missing.length) fail(`missing from the kdump image${squash ? "'s squashed content" : ''}: ${missing.join(', ')} (dracut log: ${read(path.join(guest, 'dracut-kdump.log')).slice(-300)})`);
  return `bundle, node.squashfs, runner, unit wanted by sysinit.target${squash ? ', all in squash-root.img' : ''}`;
});

if (squash) {
  // mkdumprd on a machine with mksquashfs: `--add squash --squash-compressor zstd` (dracut <= 103). dracut's
  // 99squash installpost() moves every file of the image into squash-root.img and leaves a loader beside it.
  check('the kdump image is squashed (dracut squash module, as mkdumprd adds it): the agent only in squash-root.img', () => {
    if (!kdumpList.includes(SQUASHED_HEADER)) fail(`lsinitrd shows no "${SQUASHED_HEADER}" section (dracut log: ${read(path.join(guest, 'dracut-kdump.log')).slice(-300)})`);
    if (!/\ssquash-root\.img$/m.test(outerList)) fail('squash-root.img is not in the outer cpio listing');
    // Entries only (`ls -l` lines): the header's "dracut modules:" list names the module itself.
    const outer = outerList.split('\n').filter((l) => /^[-dl][rwxsStT-]{9}\s.*pci-reset-agent/.test(l));
    if (outer.length) fail(`agent files in the outer cpio: ${outer.join('; ')}`);
    const inner = squashedList.split('\n').filter((l) => /squashfs-root\/.*pci-reset-agent/.test(l)).length;
    return `${inner} agent entries in squash-root.img, none in the outer cpio; image ${metrics.kdumpImageBytes ?? '?'} bytes`;
  });

  // The host-side readers on the same image: footprint's listing parser (the built CLI's) on the guest's
  // own lsinitrd output, and audit on the image file (it reads squash-root.img with unsquashfs).
  const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const { parseListing } = await import(path.join(PROJECT, 'dist/src/footprint/image-listing.js'));
  check('host: footprint\'s parser and audit --kdump-image find the agent in the squashed image', () => {
    const files = parseListing(kdumpList).map((e) => e.path);
    for (const f of ['usr/lib/pci-reset-agent/pci-reset-agent.mjs', 'usr/lib/pci-reset-agent/node.squashfs']) if (!files.includes(f)) fail(`footprint's parser misses ${f}`);
    const r = spawnSync(process.execPath, [path.join(PROJECT, 'dist/src/cli/bin.js'), 'audit', '--root', path.join(PROJECT, 'examples/kdump-server'), '--kdump-image', path.join(guest, 'kdump-initrd.img'), '--json'], { encoding: 'utf8', timeout: 300_000 });
    let j;
    try {
      j = JSON.parse(r.stdout);
    } catch {
      fail(`audit printed no JSON (status ${r.status}): ${r.stderr.slice(-300)}`);
    }
    if (j.image?.error) fail(`audit: ${j.image.error}`);
    if (!j.image?.agent?.bundle) fail('audit: the agent is not found in the image');
    if (!(j.image.modules > 0)) fail('audit: no kernel modules found in the image');
    return `footprint: ${files.filter((f) => f.includes('pci-reset-agent')).length} agent files; audit: ${j.image.agent.bundle} ${j.image.agent.version}, node ${j.image.agent.node}, ${j.image.modules} modules, ${j.image.kernelVersions.join(' ')}`;
  });
}

check('the ordinary initrd (no IN_KDUMP) carries none of it', () => {
  const list = read(path.join(guest, 'initrd.list'));
  if (!list) fail('no lsinitrd listing of the ordinary initrd');
  if (/pci-reset-agent/.test(list)) fail(list.split('\n').filter((l) => /pci-reset-agent/.test(l)).join('; '));
});

const consoleLog = read(path.join(run, 'console.log'));
check('the capture kernel was loaded (kexec -s -p, kdumpctl\'s command line) and the machine crashed', () => {
  const m = /PRA-E2E: kexec_crash_loaded=(\d) load took from uptime ([\d.]+) to ([\d.]+)/.exec(consoleLog);
  if (!m || m[1] !== '1') fail(`capture kernel not loaded: ${(consoleLog.match(/PRA-E2E: .*/g) ?? []).join(' | ').slice(0, 400)}`);
  // The marker goes to the serial line and to /dev/kmsg (pra-e2e-dracut): the tty copy can be lost in the
  // panic; the printk copy, or the kernel's own sysrq line, reaches the console at the panic's flush.
  if (!/PRA-E2E: crashing now|sysrq: Trigger a crash/.test(consoleLog)) fail('no crash marker nor sysrq line on the console');
  metrics.kexecLoadSeconds = Number(m[3]) - Number(m[2]);
  return `load ${metrics.kexecLoadSeconds.toFixed(1)} s`;
});

// The journal of the capture boot (initramfs part included), as JSON records.
const journal = read(path.join(ev, 'journal.json'))
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return null;
    }
  })
  .filter(Boolean);
// systemd's job messages: "unit starting" 7d4958e842da4a758f6c1cdc7b36dcc5, "unit started/finished" 39f53479d3a045ac8e11786248231fbf.
const STARTING = '7d4958e842da4a758f6c1cdc7b36dcc5';
const DONE = '39f53479d3a045ac8e11786248231fbf';
// Before journald runs, PID 1 logs to the kernel log, which journald then reads without the UNIT and
// MESSAGE_ID fields: fall back to systemd's text ("Starting <Description>...", "Finished <Description>.").
const DESCRIPTION = { 'pci-reset-agent.service': 'Reset PCI devices left doing DMA by the crashed kernel', 'systemd-udev-trigger.service': 'Coldplug All udev Devices' };
const at = (unit, id) => {
  const byId = journal.find((r) => r.UNIT === unit && r.MESSAGE_ID === id);
  if (byId) return byId;
  const verb = id === STARTING ? 'Starting' : 'Finished';
  // systemd 252: "Starting pci-reset-agent.service - Reset PCI devices…"; older: "Starting Reset PCI devices…".
  const texts = [`${verb} ${unit}`, `${verb} ${DESCRIPTION[unit]}`];
  return journal.find((r) => typeof r.MESSAGE === 'string' && texts.some((t) => r.MESSAGE.startsWith(t)) && /systemd/.test(r.SYSLOG_IDENTIFIER ?? ''));
};
check('journal: pci-reset-agent.service finished before systemd-udev-trigger.service started (in the initramfs)', () => {
  if (!journal.length) fail(`no journal from the capture kernel (console tail: ${consoleLog.slice(-300)})`);
  const agentStart = at('pci-reset-agent.service', STARTING);
  const agentDone = at('pci-reset-agent.service', DONE);
  const trigger = at('systemd-udev-trigger.service', STARTING);
  if (!agentStart || !agentDone) fail('no start/finish of pci-reset-agent.service in the journal');
  if (!trigger) fail('no start of systemd-udev-trigger.service in the journal');
  // A record journald read from the kernel log carries the kernel's own time in _SOURCE_MONOTONIC_TIMESTAMP.
  const t = (r) => Number(r._SOURCE_MONOTONIC_TIMESTAMP ?? r.__MONOTONIC_TIMESTAMP) / 1e6;
  if (!(t(agentDone) <= t(trigger))) fail(`agent finished at ${t(agentDone)} s, udev trigger started at ${t(trigger)} s`);
  metrics.journal = { agentStart: t(agentStart), agentDone: t(agentDone), udevTrigger: t(trigger) };
  return `agent ${t(agentStart).toFixed(2)} → ${t(agentDone).toFixed(2)} s, systemd-udev-trigger.service at ${t(trigger).toFixed(2)} s (monotonic)`;
});

const dmesg = read(path.join(ev, 'capture-dmesg.txt')).split('\n');
let finished = -1;
check('the agent ran in the capture kernel and finished with status 0; no driver bound before it', () => {
  finished = dmesg.findIndex((l) => /pci-reset-agent: finished status=/.test(l));
  if (finished < 0) fail('no "pci-reset-agent: finished" line in the capture kernel log');
  const m = /finished status=(\d+) start=([\d.]+)s end=([\d.]+)s/.exec(dmesg[finished]);
  if (m[1] !== '0') fail(dmesg[finished]);
  const early = dmesg.slice(0, finished).filter((l) => DRIVER_BOUND.test(l));
  if (early.length) fail(early.join(' | '));
  metrics.agent = { start: Number(m[2]), end: Number(m[3]) };
  return `uptime ${m[2]} → ${m[3]} s`;
});

if (squash) {
  // In a squashed image the loader (dracut 059 99squash init-squash.sh) loop-mounts squash-root.img and puts
  // an overlay over it before systemd runs; the runner then loop-mounts node.squashfs, a file of that
  // overlay. The kernel logs each loop device's size in 512-byte sectors ("loopN: detected capacity
  // change from 0 to S"): one must be squash-root.img's, one node.squashfs's (sizes from lsinitrd).
  check('capture kernel: squash-root.img and then node.squashfs (inside it) loop-mounted; 256M was enough (no OOM, initramfs unpacked)', () => {
    const size = (re) => {
      const m = re.exec(kdumpList);
      return m ? Number(m[1]) : null;
    };
    const rootBytes = size(/^-\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s.*\ssquash-root\.img$/m);
    const nodeBytes = size(/^-\S+\s+\S+\s+(\d+)\s.*squashfs-root\/usr\/lib\/pci-reset-agent\/node\.squashfs$/m);
    if (!rootBytes || !nodeBytes) fail(`sizes not in the listing (squash-root.img ${rootBytes}, node.squashfs ${nodeBytes})`);
    const loops = dmesg.map((l) => /\] (loop\d+): detected capacity change from 0 to (\d+)/.exec(l)).filter(Boolean).map((m) => ({ dev: m[1], bytes: Number(m[2]) * 512 }));
    const rootLoop = loops.find((l) => l.bytes === Math.ceil(rootBytes / 512) * 512);
    const nodeLoop = loops.find((l) => l.bytes === Math.ceil(nodeBytes / 512) * 512);
    if (!rootLoop) fail(`no loop device of squash-root.img's ${rootBytes} bytes (${JSON.stringify(loops)})`);
    if (!nodeLoop) fail(`no loop device of node.squashfs's ${nodeBytes} bytes (${JSON.stringify(loops)})`);
    const cannot = dmesg.filter((l) => /pci-reset-agent: cannot mount/.test(l));
    if (cannot.length) fail(cannot.join(' | '));
    const oom = dmesg.filter((l) => /Out of memory|oom-kill|Initramfs unpacking failed|Kernel panic/.test(l));
    if (oom.length) fail(oom.join(' | '));
    const mem = dmesg.find((l) => /\] Memory: \d+K\/\d+K available/.test(l));
    const freed = dmesg.find((l) => /Freeing initrd memory/.test(l));
    metrics.capture = { loops, memory: mem?.replace(/^\[[^\]]*\] /, '') ?? null, initrdFreed: freed?.replace(/^\[[^\]]*\] /, '') ?? null };
    return `${rootLoop.dev} = squash-root.img, ${nodeLoop.dev} = node.squashfs; ${mem ? /Memory: (\d+K\/\d+K)/.exec(mem)[1] : '?'} available at boot${crashkernel ? ` (crashkernel=${crashkernel})` : ''}`;
  });
}

check("the agent's report: capture kernel, every step ok", () => {
  const rep = JSON.parse(read(path.join(ev, 'report.json')) || 'null');
  if (!rep) fail(`no report.json (log: ${read(path.join(ev, 'kdump.log')).slice(-300)})`);
  if (!rep.captureKernel) fail('report says not a capture kernel');
  const steps = rep.steps ?? [];
  if (!steps.length) fail('no steps');
  const bad = steps.filter((s) => s.status !== 'ok' || (s.restoreMismatches ?? []).length);
  if (bad.length) fail(bad.map((s) => `${s.method}@${s.target} ${s.status}`).join('; '));
  metrics.steps = steps.map((s) => `${s.method}@${s.target} ${Math.round(s.durationMs)}ms`);
  return `${steps.length} steps ok in ${Math.round(rep.durationMs)} ms`;
});

// What the first kernel's harness saved before the crash: `pci-reset-agent footprint` and `audit --json`
// on /boot/initramfs-KVERkdump.img, found by themselves as on a Fedora/RHEL machine (both look there).
const agentPaths = (list) => list.filter((p) => /pci-reset-agent/.test(p));
check('footprint (first kernel) lists the agent from the kdump image' + (squash ? "'s squashed content" : ''), () => {
  const raw = read(path.join(ev, 'first-footprint.json'));
  if (!raw) fail(`no footprint output (${read(path.join(ev, 'first-footprint.err')).slice(-300)})`);
  const f = JSON.parse(raw);
  if (f.source !== 'image' || !f.image) fail(`footprint did not read the image: ${(f.notes ?? []).join('; ')}`);
  if (!/initramfs-.*kdump\.img$/.test(f.image.path)) fail(`footprint read ${f.image.path}`);
  const files = (f.files ?? []).map((e) => e.path);
  const missing = ['usr/lib/pci-reset-agent/pci-reset-agent.mjs', 'usr/lib/pci-reset-agent/node.squashfs', 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump'].filter((w) => !files.includes(w));
  if (missing.length) fail(`footprint's files lack ${missing.join(', ')} (has: ${files.join(', ').slice(0, 300)})`);
  if (f.node === 'missing') fail('footprint says node is missing');
  metrics.footprint = { image: f.image, node: f.node, unpackedBytes: f.unpackedBytes, recommendedMiB: f.recommendedMiB, verdict: f.verdict };
  return `${agentPaths(files).length} agent files via ${f.image.lister}, node ${f.node}, ${(f.unpackedBytes / 1048576).toFixed(1)} MB unpacked, recommends ${f.recommendedMiB}M, verdict ${f.verdict}`;
});

check('audit --json (first kernel) finds the agent and the modules in the kdump image', () => {
  const raw = read(path.join(ev, 'first-audit.json'));
  if (!raw) fail(`no audit output (rc ${read(path.join(ev, 'first-audit.rc')).trim()}: ${read(path.join(ev, 'first-audit.err')).slice(-300)})`);
  const a = JSON.parse(raw);
  const im = a.image ?? {};
  if (im.error) fail(`image error: ${im.error}`);
  if (!im.path) fail(`no image found (tried ${(im.tried ?? []).join(', ')})`);
  if (!im.agent?.bundle) fail(`image.agent.bundle not set (${JSON.stringify(im.agent)})`);
  if (!(im.modules > 0)) fail(`no kernel modules found in the image (${im.modules})`);
  if (im.agent.node !== 'squashfs') fail(`image.agent.node is ${im.agent.node}`);
  metrics.audit = { path: im.path, bundle: im.agent.bundle, modules: im.modules, unpackedBytes: im.unpackedBytes, readMs: im.readMs, ready: a.ready };
  return `${im.path}: bundle ${im.agent.bundle}, ${im.modules} modules, node ${im.agent.node}, read in ${im.readMs} ms`;
});

const passed = results.filter((r) => r.ok).length;
for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? `: ${r.detail}` : ''}\n`);
fs.writeFileSync(path.join(run, 'summary.json'), `${JSON.stringify({ results, metrics }, null, 2)}\n`);
process.stdout.write(`e2e-dracut: ${passed} passed, ${results.length - passed} failed\n`);
process.exit(passed === results.length ? 0 : 1);
