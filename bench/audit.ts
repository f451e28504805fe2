import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { readImage } from '../src/audit/image/read-image.js';
import { kdumpServerTree } from '../src/mock/examples/kdump-server.js';
import { generatedTree } from '../src/mock/examples/generated.js';
import { concat, newcArchive, withParents, type CpioSpec } from '../src/mock/kdump-image.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../src/cli/bin.js');

/** Wall time of a fresh `node bin.js audit …` (exit 0 or 7), median of `runs` after one warm-up. */
function auditWall(args: string[], runs: number): number {
  const once = (): number => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, 'audit', ...args], { stdio: 'ignore' });
    if (r.status !== 0 && r.status !== 7) throw new Error(`audit ${args.join(' ')} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  once();
  const all = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return all[Math.floor(runs / 2)]!;
}

/**
 * A kdump-sized image: 2,000 module files (30 kB of module-like bytes each, 60 MB) and a modules.alias
 * of 25,000 lines, as on a distribution kernel; a microcode archive in front. Bytes are pseudo-random
 * words so that compressors see text-like redundancy, not zeros.
 */
function bigMain(): Uint8Array {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  const words = Array.from({ length: 512 }, (_, i) => `sym_${i.toString(36)}_${(rnd() % 100000).toString(16)}`);
  const blob = (n: number): string => {
    let s = '';
    while (s.length < n) s += `${words[rnd() % words.length]} `;
    return s.slice(0, n);
  };
  const dir = 'usr/lib/modules/6.12.0-bench';
  const entries: CpioSpec[] = [];
  const aliases: string[] = [];
  for (let i = 0; i < 2000; i++) {
    entries.push({ name: `${dir}/kernel/drivers/bench/m${i}.ko`, data: blob(30_000) });
    for (let k = 0; k < 12; k++) aliases.push(`alias pci:v0000${(0x1000 + ((i * 12 + k) % 4000)).toString(16).toUpperCase()}d0000${(i * 12 + k).toString(16).toUpperCase().padStart(4, '0')}sv*sd*bc*sc*i* m${i}`);
  }
  for (let k = 0; k < 1000; k++) aliases.push(`alias usb:v${k.toString(16).padStart(4, '0')}p*d*dc*dsc*dp*ic*isc*ip*in* usbthing${k}`);
  entries.push({ name: `${dir}/modules.alias`, data: `${aliases.join('\n')}\n` });
  return newcArchive(withParents(entries));
}

export async function benchAudit(runs = 5): Promise<string> {
  const out: string[] = [];
  // 1. The command on the example tree and on a 5,000-function tree with the example's kdump setup.
  const ex = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-audit-'));
  const big = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-audit-'));
  try {
    kdumpServerTree().write(ex);
    generatedTree(5000).write(big);
    for (const rel of ['etc/default/kdump-tools', 'proc/sys/kernel/osrelease', 'sys/kernel/kexec_crash_size', 'lib/modules']) {
      fs.cpSync(path.join(ex, rel), path.join(big, rel), { recursive: true });
    }
    fs.mkdirSync(path.join(big, 'var/lib/kdump'), { recursive: true });
    for (const f of fs.readdirSync(path.join(ex, 'var/lib/kdump'))) fs.cpSync(path.join(ex, 'var/lib/kdump', f), path.join(big, 'var/lib/kdump', f), { verbatimSymlinks: true });
    out.push('| tree | `audit` wall | `audit --json` wall |', '|---|---:|---:|');
    for (const [name, dir] of [['examples/kdump-server (29 functions)', ex], ['generated, 5,000 functions', big]] as const) {
      out.push(`| ${name} | ${auditWall(['--root', dir], runs).toFixed(0)} ms | ${auditWall(['--root', dir, '--json'], runs).toFixed(0)} ms |`);
    }
  } finally {
    fs.rmSync(ex, { recursive: true, force: true });
    fs.rmSync(big, { recursive: true, force: true });
  }

  // 2. Reading one image, per compression (in-process: decompress + cpio walk + keep modules.alias).
  const main = bigMain();
  const micro = newcArchive([{ name: 'kernel/x86/microcode/GenuineIntel.bin', data: 'u'.repeat(100_000) }]);
  const tool = (cmd: string, args: string[]): Uint8Array | null => {
    try {
      return execFileSync(cmd, args, { input: main, maxBuffer: 256 * 1024 * 1024 });
    } catch {
      return null;
    }
  };
  const packed: [string, Uint8Array | null][] = [
    ['none', main],
    ['gzip -6 (node:zlib)', zlib.gzipSync(main, { level: 6 })],
    ['xz --check=crc32 -6 (xz-decompress, wasm)', tool('xz', ['--check=crc32', '-6', '-c'])],
    ['zstd -10 (fzstd, JS)', tool('zstd', ['-q', '-10', '-c'])],
  ];
  out.push('', `Image read, ${(main.byteLength / 1e6).toFixed(1)} MB of cpio (2,000 modules, 25,000 PCI aliases), median of 3:`, '', '| compression | file | read (decompress + walk + keep modules.alias) | MB/s unpacked |', '|---|---:|---:|---:|');
  for (const [name, body] of packed) {
    if (!body) {
      out.push(`| ${name} | (tool missing) | | |`);
      continue;
    }
    const image = concat([micro, body]);
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t = process.hrtime.bigint();
      await readImage(image, { label: 'bench', want: (e) => e.name.endsWith('modules.alias') });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const ms = times.slice(1).sort((a, b) => a - b)[1]!;
    out.push(`| ${name} | ${(image.byteLength / 1e6).toFixed(1)} MB | ${ms.toFixed(0)} ms | ${(main.byteLength / 1e6 / (ms / 1000)).toFixed(0)} |`);
  }
  return out.join('\n');
}

// `node dist/bench/audit.js` runs this benchmark alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  benchAudit().then((t) => process.stdout.write(`${t}\n`));
}
