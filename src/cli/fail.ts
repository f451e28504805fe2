import { AccessError } from '../access/access-error.js';
import { EXIT } from '../errors/exit-codes.js';
import { UserError } from '../errors/user-error.js';
import { printable } from '../text/escape.js';

/** Print an error the way every command does and give the status to exit with. */
export function reportError(err: unknown): number {
  if (err instanceof UserError || err instanceof AccessError) {
    process.stderr.write(`pci-reset-agent: ${printable(err.message)}\n`);
    return err instanceof UserError ? err.exitCode : EXIT.FAILED;
  }
  // An unexpected failure is still one line; PCI_RESET_AGENT_DEBUG=1 shows where it came from.
  const e = err as Error;
  process.stderr.write(`pci-reset-agent: internal error: ${printable(e?.message ?? String(err))}\n`);
  if (process.env.PCI_RESET_AGENT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return EXIT.FAILED;
}
