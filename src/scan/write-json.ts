import type { ScanDevice } from './scan-result.js';

/** What the writer needs: a finished ScanResult or a ScanStream both fit. */
export interface ScanDocument {
  root: string;
  problems: string[];
  devices: Iterable<ScanDevice> | (() => Iterable<ScanDevice>);
}

/**
 * `scan --json` output: compact, one device per line, written in batches. A 5,000-function machine is
 * about 5 MB of JSON; building it as one string would hold it (and a pretty-printed copy) in memory.
 * One line per device also keeps captured reports greppable and diffable.
 */
export function writeScanJson(result: ScanDocument, write: (chunk: string) => void): void {
  write(`{"root":${JSON.stringify(result.root)},"problems":${JSON.stringify(result.problems)},"devices":[`);
  const BATCH = 64;
  let chunk = '';
  let i = 0;
  const devices = typeof result.devices === 'function' ? result.devices() : result.devices;
  for (const d of devices) {
    chunk += `${i === 0 ? '' : ','}\n${JSON.stringify(d)}`;
    if (++i % BATCH === 0) {
      write(chunk);
      chunk = '';
    }
  }
  write(`${chunk}\n]}\n`);
}
