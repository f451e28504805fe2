import { describe, expect, it } from 'vitest';
import { runBuilt } from '../helpers/run-built.js';

describe('footprint on the command line', () => {
  it('a --root that does not exist is status 1 with one line naming it (the exit status table)', () => {
    const r = runBuilt(['footprint', '--root', '/nonexistent-pra-root']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('pci-reset-agent: --root /nonexistent-pra-root: does not exist');
  });
});
