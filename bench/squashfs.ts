import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const TIME = '/usr/bin/time';

/** Compressor and block size choices for node.squashfs (PCI_RESET_AGENT_SQUASH_COMP, -b). */
const VARIANTS: { name: string; args: string[] }[] = [
  { name: 'xz -Xbcj x86, 128 KiB (the former default)', args: ['-comp', 'xz', '-Xbcj', 'x86'] },
  { name: 'xz -Xbcj x86, 1 MiB', args: ['-comp', 'xz', '-Xbcj', 'x86', '-b', '1M'] },
  { name: 'gzip, 128 KiB', args: ['-comp', 'gzip'] },
  { name: 'zstd (level 15), 128 KiB', args: ['-comp', 'zstd'] },
  { name: 'zstd (level 15), 1 MiB', args: ['-comp', 'zstd', '-b', '1M'] },
  { name: 'lz4 -Xhc, 128 KiB', args: ['-comp', 'lz4', '-Xhc'] },
];

/**
 * What the capture kernel pays to read node out of node.squashfs: the image's size for each compressor
 * and block size, and the CPU time one core (the capture kernel runs with nr_cpus=1) spends decompressing
 * the node binary (`unsquashfs -p 1 -cat`, a stand-in for the kernel's squashfs decompressor faulting the
 * binary in; median of `runs`). Node and the libraries it links beside it, as the dracut module packs them.
 */
export async function benchSquashfs(runs = 3): Promise<string> {
  const have = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
  if (!have('mksquashfs') || !have('unsquashfs')) return '(not run: mksquashfs/unsquashfs missing: apt-get install squashfs-tools)';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-squashfs-'));
  try {
    const stage = path.join(work, 'stage');
    fs.mkdirSync(path.join(stage, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(stage, 'lib'));
    const node = path.join(stage, 'bin/node');
    if (spawnSync('strip', ['-o', node, process.execPath]).status !== 0) fs.copyFileSync(process.execPath, node);
    const ldd = spawnSync('ldd', [process.execPath], { encoding: 'utf8' }).stdout;
    for (const m of ldd.matchAll(/=> (\/\S+)/g)) {
      const lib = m[1]!;
      if (!/\/(ld-linux|libc|libm|libdl|libpthread|librt)[.-]/.test(lib)) fs.copyFileSync(fs.realpathSync(lib), path.join(stage, 'lib', path.basename(lib)));
    }
    const plain = fs.statSync(node).size + fs.readdirSync(path.join(stage, 'lib')).reduce((n, f) => n + fs.statSync(path.join(stage, 'lib', f)).size, 0);
    const rows = [
      '| node.squashfs | size | decompress node, one core (ms) |',
      '|---|---:|---:|',
      `| none (node and libraries as plain files in the initramfs) | ${(plain / 2 ** 20).toFixed(1)} MB unpacked | 0 |`,
    ];
    for (const v of VARIANTS) {
      const img = path.join(work, 'node.squashfs');
      const b = spawnSync('mksquashfs', [stage, img, '-noappend', '-quiet', '-all-root', '-no-progress', ...v.args], { encoding: 'utf8' });
      if (b.status !== 0) {
        rows.push(`| ${v.name} | not built: ${b.stderr.trim().split('\n')[0]} | |`);
        continue;
      }
      const cpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = spawnSync('sh', ['-c', `${TIME} -f '@@ %U %S' unsquashfs -p 1 -cat ${img} bin/node > /dev/null`], { encoding: 'utf8' });
        const m = /@@ ([\d.]+) ([\d.]+)/.exec(r.stderr);
        if (m) cpu.push((Number(m[1]) + Number(m[2])) * 1000);
      }
      cpu.sort((a, b2) => a - b2);
      rows.push(`| ${v.name} | ${(fs.statSync(img).size / 2 ** 20).toFixed(1)} MB | ${cpu.length ? cpu[cpu.length >> 1]!.toFixed(0) : 'n/a'} |`);
      fs.rmSync(img);
    }
    return rows.join('\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// `node dist/bench/squashfs.js` runs this benchmark alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchSquashfs().then((t) => process.stdout.write(`${t}\n`));
}
