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
 * hold it (and an indented copy) in memory, so devices are made and written BATCH at a time.
 */
export function writeScanJson(result: ScanDocument, write: (chunk: string) => void): void {
  write(`{\n  "root": ${JSON.stringify(result.root)},\n  "problems": ${indent(result.problems)},\n  "devices": [`);
  const BATCH = 64;
  let batch: ScanDevice[] = [];
  let first = true;
  const flush = (): void => {
    if (batch.length === 0) return;
    write(`${first ? '' : ','}${devicesText(batch)}`);
    first = false;
    batch = [];
  };
  const devices = typeof result.devices === 'function' ? result.devices() : result.devices;
  for (const d of devices) {
    batch.push(d);
    if (batch.length === BATCH) flush();
  }
  flush();
  write(`${first ? ']' : '\n  ]'}\n}\n`);
}

const OPEN = '{\n  "devices": [';
const CLOSE = '\n  ]\n}';

/**
 * `\n    {…},\n    {…}`: the devices as they read two levels down, by one JSON.stringify of the
 * wrapper they sit in, cut out of it. (Indenting each device's text again afterwards made a second copy of
 * every device and was a tenth of a 5,000-function scan's CPU.)
 */
function devicesText(devices: ScanDevice[]): string {
  const text = JSON.stringify({ devices }, null, 2);
  return text.slice(OPEN.length, text.length - CLOSE.length);
}

/** JSON.stringify(value, null, 2) as it reads nested `depth` levels down. */
function indent(value: unknown, by = '  '): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${by}`);
}
