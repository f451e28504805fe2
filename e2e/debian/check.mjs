#!/usr/bin/env node
// Checks of the kdump-tools end-to-end (e2e/debian/run.sh), from what the run left: the serial console,
// the guest build's records (kdump image listing, footprint), and the disk read back with debugfs:
// /var/crash/<stamp>/{dump,dmesg}.<stamp> (kdump-tools + makedumpfile) and /var/crash/pra-e2e/ (the
// capture kernel's dmesg, the agent's report and log, copied by the harness before the dump).
// Usage: node e2e/debian/check.mjs --run DIR --guest DIR --crashkernel SIZE
import * as fs from 'node:fs';
import * as path from 'node:path';

const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
const run = arg('--run');
const guest = arg('--guest');
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const build = JSON.parse(read(path.join(guest, 'build.json')) || '{}');
const DMAR_FAULT = /DMAR: \[(DMA (Read|Write)|INTR-REMAP)[^\]]*\]|DRHD: handling fault status|fault reason 0x/;
// A driver taking one of the guest's devices (first lines each driver logs when it binds).
const DRIVER_BOUND = /\b(e1000e 0000:|e1000 0000:|nvme nvme\d+: pci function|virtio_net virtio|virtio_blk virtio\d+: \[vd)/;

const results = [];
const pending = [];
function check(name, fn) {
  const slot = { name, ok: false, detail: '' };
  results.push(slot);
  const done = (detail) => Object.assign(slot, { ok: true, detail: detail ?? '' });
  const failed = (e) => Object.assign(slot, { ok: false, detail: e.message });
  try {
    const r = fn();
    if (r instanceof Promise) pending.push(r.then(done, failed));
    else done(r);
  } catch (e) {
    failed(e);
  }
}
const fail = (m) => {
  throw new Error(m);
};

const consoleLog = read(path.join(run, 'console.log'));
const pra = path.join(run, 'disk/pra-e2e');
const capDmesg = read(path.join(pra, 'capture-dmesg.txt')).split('\n');
const stampDir = fs.existsSync(path.join(run, 'disk')) ? fs.readdirSync(path.join(run, 'disk')).find((d) => /^\d{12}$/.test(d)) : undefined;
// The crashed kernel's own log, as kdump-tools saved it (dmesg.<stamp>) and as makedumpfile reads it back.
const crashedLog = () => {
  const dir = stampDir ? path.join(run, 'disk', stampDir) : null;
  const f = dir && fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => /^dmesg\.\d{12}$/.test(n)) : undefined;
  return (f ? read(path.join(dir, f)) : '') + read(path.join(run, 'dump-dmesg.txt'));
};
const metrics = { crashkernel: arg('--crashkernel'), wallSeconds: Number(read(path.join(run, 'wall-seconds')) || 0), build };

check('kdump-tools built the capture image with our hook (lsinitramfs in the guest)', () => {
  const list = read(path.join(guest, 'kdump-initrd.list'));
  const want = ['usr/lib/pci-reset-agent/pci-reset-agent.mjs', 'usr/lib/pci-reset-agent/node.squashfs', 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump',
    'scripts/init-top/pci-reset-agent', 'etc/pci-reset-agent/quirks.d/50-qemu-e1000e.quirks'];
  const missing = want.filter((w) => !list.includes(` ${w}\n`));
  if (missing.length) fail(`missing from /var/lib/kdump/initrd.img: ${missing.join(', ')}`);
  if (!/kdump-tools: Generating \/var\/lib\/kdump\/initrd\.img-/.test(read(path.join(guest, 'kdump-initrd.log')))) fail('kdump-tools did not say it generated the image');
  const order = read(path.join(guest, 'kdump-initrd.list')).includes('scripts/init-top/ORDER');
  return `${want.length} agent files present${order ? '' : ' (ORDER not listed)'}`;
});

check('the ordinary initrd carries none of it (only the inert init-top script)', () => {
  const list = read(path.join(guest, 'initrd.list'));
  if (!list) fail('no listing of /boot/initrd.img');
  const ours = list.split('\n').filter((l) => /pci-reset-agent/.test(l) && !/scripts\/init-top\/pci-reset-agent$/.test(l));
  if (ours.length) fail(ours.join('; '));
});

check('footprint reads the real kdump image (in the guest, lsinitramfs)', () => {
  const f = JSON.parse(read(path.join(guest, 'footprint.json')) || 'null');
  if (!f) fail(`no footprint output: ${read(path.join(guest, 'footprint.err'))}`);
  // The hook's default node image is zstd (PCI_RESET_AGENT_SQUASH_COMP), xz when configured.
  if (f.source !== 'image' || !/^squashfs-(zstd|xz)$/.test(f.node)) fail(`source ${f.source}, node ${f.node}`);
  metrics.footprint = { unpackedBytes: f.unpackedBytes, compressedBytes: f.compressedBytes, imageBytes: f.image?.bytes };
  return `node ${f.node}; adds ${(f.unpackedBytes / 1048576).toFixed(1)} MB unpacked, ~${(f.compressedBytes / 1048576).toFixed(1)} MB compressed; image ${(f.image.bytes / 1048576).toFixed(1)} MB`;
});

check('kdump-tools loaded the capture kernel at boot, then the harness crashed the machine', () => {
  const m = /PRA-E2E: kexec_crash_loaded=(\d) after (\d+)s uptime=([\d.]+)/.exec(consoleLog);
  if (!m || m[1] !== '1') fail('kexec_crash_loaded never became 1');
  // The harness writes the marker to the serial line and to /dev/kmsg (pra-e2e-crash): a tty write just
  // before sysrq-c can be lost in the panic, the printk copy is in the crashed kernel's saved log.
  const marker = /PRA-E2E: crashing now/;
  if (!marker.test(consoleLog) && !marker.test(crashedLog())) fail('no crash marker on the console nor in the crashed kernel\'s log');
  metrics.firstBootUptimeAtLoad = Number(m[3]);
  return `loaded at uptime ${m[3]} s`;
});

let finished = -1;
check('the agent ran in the capture kernel (init-top) and finished with status 0', () => {
  if (capDmesg.length < 2) fail('no capture-kernel dmesg on the disk (kdump-tools-dump.service did not run?)');
  finished = capDmesg.findIndex((l) => /pci-reset-agent: finished status=/.test(l));
  if (finished < 0) fail('no "pci-reset-agent: finished" line in the capture kernel log');
  const m = /finished status=(\d+) start=([\d.]+)s end=([\d.]+)s/.exec(capDmesg[finished]);
  if (m[1] !== '0') fail(capDmesg[finished]);
  if (capDmesg.some((l) => /udev is already running/.test(l))) fail('init-top script saw udev running');
  metrics.agent = { start: Number(m[2]), end: Number(m[3]) };
  return `uptime ${m[2]} s -> ${m[3]} s`;
});

check('no driver bound to any device before the agent finished', () => {
  if (finished < 0) fail('agent did not finish');
  const early = capDmesg.slice(0, finished).filter((l) => DRIVER_BOUND.test(l));
  if (early.length) fail(early.join(' | '));
  const later = capDmesg.slice(finished).filter((l) => DRIVER_BOUND.test(l));
  if (!later.length) fail('no driver bound afterwards either (pattern out of date?)');
  return `${later.length} driver lines, all after`;
});

check("the agent's report: capture kernel, every step ok", () => {
  const rep = JSON.parse(read(path.join(pra, 'report.json')) || 'null');
  if (!rep) fail(`no report.json (log: ${read(path.join(pra, 'kdump.log')).slice(-300)})`);
  const steps = rep.steps ?? [];
  if (!steps.length) fail('no steps');
  const bad = steps.filter((s) => s.status !== 'ok' || (s.restoreMismatches ?? []).length);
  if (bad.length) fail(bad.map((s) => `${s.method}@${s.target} ${s.status}`).join('; '));
  metrics.steps = steps.map((s) => `${s.method}@${s.target} ${s.durationMs}ms`);
  metrics.applyMs = rep.durationMs;
  return `${steps.length} steps in ${rep.durationMs} ms: ${metrics.steps.join(', ')}`;
});

check('no DMAR fault after the agent', () => {
  if (finished < 0) fail('agent did not finish');
  const faults = capDmesg.slice(finished).filter((l) => DMAR_FAULT.test(l));
  if (faults.length) fail(faults.slice(0, 3).join(' | '));
});

check('kdump-tools saved the dump with makedumpfile in /var/crash/<stamp>/ (read back from the disk)', () => {
  if (!stampDir) fail(`no /var/crash/<stamp> directory: ${read(path.join(run, 'var-crash.txt')).replace(/\n/g, ' ')}`);
  const dir = path.join(run, 'disk', stampDir);
  const dump = fs.readdirSync(dir).find((f) => /^dump\.\d{12}$/.test(f));
  if (!dump) fail(`no dump file in /var/crash/${stampDir}: ${fs.readdirSync(dir).join(', ')}`);
  // makedumpfile's kdump-compressed format (makedumpfile diskdump_mod.h, struct disk_dump_header):
  // signature "KDUMP   ", header_version, new_utsname (6 x 65 bytes), timeval, status, block_size,
  // sub_hdr_size, bitmap_blocks, max_mapnr (offset 440 on x86_64).
  // kdump-tools runs makedumpfile with -F (flattened, for a pipe): a 4096-byte "makedumpfile" header, then
  // blocks of {offset, size} (big-endian 64-bit) + data; the first block is the disk_dump_header at offset 0
  // (makedumpfile.h, struct makedumpfile_header / makedumpfile_data_header).
  const fd = fs.openSync(path.join(dir, dump), 'r');
  const head = Buffer.alloc(8192);
  fs.readSync(fd, head, 0, 8192, 0);
  fs.closeSync(fd);
  let h = head;
  let format = 'kdump-compressed';
  if (head.toString('latin1', 0, 12) === 'makedumpfile') {
    const off = head.readBigInt64BE(4096);
    const size = head.readBigInt64BE(4104);
    if (off !== 0n || size < 448n) fail(`flattened dump: first block at ${off}, ${size} bytes`);
    h = head.subarray(4112);
    format = 'flattened kdump-compressed';
  }
  const sig = h.toString('latin1', 0, 8);
  if (sig !== 'KDUMP   ') fail(`signature ${JSON.stringify(sig)}`);
  const field = (off) => h.toString('latin1', off, off + 65).replace(/\0.*$/s, '');
  const release = field(12 + 65 * 2);
  if (build.kernel && release !== build.kernel) fail(`dump of kernel ${release}, guest runs ${build.kernel}`);
  const blockSize = h.readInt32LE(428);
  const maxMapnr = h.readUInt32LE(440);
  const coversMiB = (maxMapnr * blockSize) / 1048576;
  // The first kernel had 1 GiB: max_mapnr spans all of its RAM (q35 puts part of it above 4 GiB).
  if (coversMiB < 1000) fail(`max_mapnr ${maxMapnr} x ${blockSize} covers ${coversMiB.toFixed(0)} MiB`);
  const size = fs.statSync(path.join(dir, dump)).size;
  metrics.dump = { file: `/var/crash/${stampDir}/${dump}`, format, bytes: size, release, maxMapnr, blockSize };
  const dmesgFile = fs.readdirSync(dir).find((f) => /^dmesg\.\d{12}$/.test(f));
  const crashed = dmesgFile ? read(path.join(dir, dmesgFile)) : '';
  if (!/sysrq: Trigger a crash/.test(crashed)) fail(`the saved dmesg does not show the sysrq crash (${dmesgFile ?? 'none'})`);
  return `${dump} (${format}): ${(size / 1048576).toFixed(1)} MB, kernel ${release}, pages to ${coversMiB.toFixed(0)} MiB; dmesg.<stamp> shows the crash`;
});

check("makedumpfile reads the dump back: the crashed kernel's log comes out of it", () => {
  const log = read(path.join(run, 'dump-dmesg.txt'));
  if (!log) fail(`makedumpfile -R / --dump-dmesg gave nothing: ${read(path.join(run, 'makedumpfile-R.log')).slice(-200)} ${read(path.join(run, 'makedumpfile-dmesg.log')).slice(-200)}`);
  if (!/sysrq: Trigger a crash/.test(log)) fail('the log read from the dump does not show the sysrq crash');
  if (!/PRA-E2E|pra-e2e/.test(log) && !/Linux version/.test(log)) fail('not the first kernel\'s log');
  return `${log.split('\n').length} lines, ends with the sysrq crash`;
});

check("`pci-reset-agent footprint`, the last install step of docs/kdump.md, as written in the guest's first kernel", () => {
  const status = read(path.join(pra, 'first-kernel/footprint.status')).trim();
  const text = read(path.join(pra, 'first-kernel/footprint.txt'));
  if (status !== '0') fail(`status ${status || 'missing'}: ${text.slice(0, 300)}`);
  if (!/initrd\.img-/.test(text)) fail(`does not name the kdump image: ${text.slice(0, 300)}`);
  return text.split('\n').find((l) => /crashkernel/i.test(l))?.trim() ?? text.split('\n')[0];
});

// Issue 17: the audit run in the first kernel (before the crash) against what the capture kernel did,
// function by function (src/audit/compare-capture.ts, bundled here on the fly: the check runs the
// project's own comparison, not a copy).
const firstKernel = path.join(pra, 'first-kernel');
check('audit in the first kernel: prediction = what the capture kernel did, function by function', async () => {
  const audit = JSON.parse(read(path.join(firstKernel, 'audit.json')) || 'null');
  if (!audit) fail(`no audit.json from the first kernel (status ${read(path.join(firstKernel, 'audit.status')).trim()}: ${read(path.join(firstKernel, 'audit.err')).slice(-300)})`);
  const { compareWithCapture, parseDriverList } = await loadCompare();
  const driversText = read(path.join(pra, 'capture-drivers.txt'));
  if (!driversText) fail('no capture-drivers.txt from the capture kernel');
  const drivers = parseDriverList(driversText, 'capture-drivers.txt');
  const agent = JSON.parse(read(path.join(pra, 'report.json')) || 'null');
  const rows = compareWithCapture(audit, { drivers, agent });
  metrics.audit = { status: Number(read(path.join(firstKernel, 'audit.status')).trim()), headline: audit.headline, counts: audit.counts, comparisons: rows };
  const noDriverInImage = audit.devices.filter((d) => d.capture !== 'image' && d.capture !== 'builtin' && (d.firstKernelModules ?? []).length);
  if (!noDriverInImage.length) fail('no function whose driver the kdump image lacks: the comparison would not cover that case');
  const bad = rows.filter((r) => !r.ok);
  if (bad.length) fail(bad.map((r) => `${r.bdf}: predicted ${r.predicted}, got ${r.actual} (${r.why})`).join(' | '));
  return `${rows.length} functions as predicted; drivers missing from the image: ${noDriverInImage.map((d) => `${d.bdf} ${d.firstKernelModules[0]}`).join(', ')}`;
});

// The settings the capture kernel's agent runs with are the image's (src/audit/image/agent-settings.ts):
// read here from the image kdump-tools really built, against what the guest was given.
check("audit read the agent's own settings from the real kdump image (kdump.conf, quirks.d)", () => {
  const audit = JSON.parse(read(path.join(firstKernel, 'audit.json')) || 'null');
  if (!audit) fail('no audit.json from the first kernel');
  const s = audit.image?.agentSettings;
  if (!s) fail(`no image.agentSettings (image: ${audit.image?.path ?? 'none'}, error: ${audit.image?.error ?? 'none'})`);
  const conf = fs.readFileSync(new URL('guest/etc/pci-reset-agent/kdump.conf', import.meta.url), 'utf8');
  const want = (/^PRA_ARGS="([^"]*)"/m.exec(conf)?.[1] ?? '').split(/\s+/).filter(Boolean);
  if (!s.enabled || JSON.stringify(s.args) !== JSON.stringify(want)) fail(`enabled ${s.enabled}, args ${JSON.stringify(s.args)}, the guest's PRA_ARGS ${JSON.stringify(want)}`);
  if (!s.quirkTables.includes('etc/pci-reset-agent/quirks.d/50-qemu-e1000e.quirks')) fail(`image quirk tables: ${s.quirkTables.join(', ') || 'none'}`);
  const differ = audit.warnings.filter((w) => /quirk tables .* differ/.test(w));
  if (differ.length) fail(differ.join(' | '));
  return `enabled, PRA_ARGS ${s.args.join(' ')}, tables ${s.quirkTables.map((t) => path.basename(t)).join(', ')}, the same as the host's`;
});

async function loadCompare() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({ entryPoints: [new URL('../../src/audit/compare-capture.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].contents).toString('base64')}`);
}

for (const p of pending) await p;
const passed = results.filter((r) => r.ok).length;
for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? `: ${r.detail}` : ''}\n`);
fs.writeFileSync(path.join(run, 'summary.json'), `${JSON.stringify({ results, metrics }, null, 2)}\n`);
process.stdout.write(`e2e-debian: ${passed} passed, ${results.length - passed} failed\n`);
process.exit(passed === results.length ? 0 : 1);
