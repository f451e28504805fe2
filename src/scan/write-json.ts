import type { ScanDevice } from './scan-result.js';

/** What the writer needs: a finished ScanResult or a ScanStream both fit. */
export interface ScanDocument {
  root: string;
  problems: string[];
  devices: Iterable<ScanDevice> | (() => Iterable<ScanDevice>);
}

/**
 * `scan --json` output in the layout of every `--json` (src/cli/json-out.ts: two-space indentation),
 * written in batches. A 5,000-function machine is several MB of JSON; building it as one string would
 * hold it (and an indented copy) in memory, so each device is indented on its own as it comes.
 */
export function writeScanJson(result: ScanDocument, write: (chunk: string) => void): void {
  write(`{\n  "root": ${JSON.stringify(result.root)},\n  "problems": ${indent(result.problems)},\n  "devices": [`);
  const BATCH = 64;
  let chunk = '';
  let i = 0;
  const devices = typeof result.devices === 'function' ? result.devices() : result.devices;
  for (const d of devices) {
    chunk += `${i === 0 ? '' : ','}\n    ${indent(d, '    ')}`;
    if (++i % BATCH === 0) {
      write(chunk);
      chunk = '';
    }
  }
  write(`${chunk}${i === 0 ? ']' : '\n  ]'}\n}\n`);
}

/** JSON.stringify(value, null, 2) as it reads nested `depth` levels down. */
function indent(value: unknown, by = '  '): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${by}`);
}
