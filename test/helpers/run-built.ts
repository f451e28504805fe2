import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let built: string | null = null;

/**
 * The CLI as a user runs it: the sources built (scripts/build-bundle.mjs, the same code the tsc build
 * runs) into a temporary directory once per test file, then started as a separate node process, so
 * what reaches stdout/stderr and the exit status are the real ones.
 */
export function builtCli(): string {
  // PRA_TEST_CLI=path/to/pci-reset-agent.mjs runs the tests against another build (an older commit's).
  if (process.env.PRA_TEST_CLI) return process.env.PRA_TEST_CLI;
  if (built && fs.existsSync(built)) return built;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-cli-'));
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-bundle failed: ${r.stderr}`);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  built = path.join(dir, 'pci-reset-agent.mjs');
  return built;
}

export interface BuiltRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built CLI with `args` from the project directory (so `examples/server` resolves). */
export function runBuilt(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): BuiltRun {
  const r = spawnSync(process.execPath, [builtCli(), ...args], {
    cwd: options.cwd ?? PROJECT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export { PROJECT };
