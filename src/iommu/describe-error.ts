import { AccessError } from '../access/access-error.js';

/**
 * The reason part of a failure, without the host path (reports name the root-relative path themselves,
 * so a mock root's temp directory does not leak into every problem line).
 */
export function describeError(err: unknown): string {
  if (err instanceof AccessError) {
    const prefix = `${err.path}: `;
    return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  }
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code) return `${e.code}${e.message ? ` (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})` : ''}`;
  return e?.message ?? String(err);
}
