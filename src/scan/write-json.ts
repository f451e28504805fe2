import type { ScanResult } from './scan-result.js';

/**
 * `scan --json` output: compact, one device per line, written in batches. A 5,000-function machine is
 * about 5 MB of JSON; building it as one string would hold it (and a pretty-printed copy) in memory.
 * One line per device also keeps captured reports greppable and diffable.
 */
export function writeScanJson(result: ScanResult, write: (chunk: string) => void): void {
  write(`{"root":${JSON.stringify(result.root)},"problems":${JSON.stringify(result.problems)},"devices":[`);
  const BATCH = 64;
  let chunk = '';
  result.devices.forEach((d, i) => {
    chunk += `${i === 0 ? '' : ','}\n${JSON.stringify(d)}`;
    if ((i + 1) % BATCH === 0) {
      write(chunk);
      chunk = '';
    }
  });
  write(`${chunk}\n]}\n`);
}
