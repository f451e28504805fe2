import { describe, expect, it } from 'vitest';
import { internalReferences } from './internal-references.js';

/** The pattern the docs check uses, against what slipped through before and against real words it must leave alone. */
describe('internal references: the pattern itself', () => {
  const flagged = [
    'as measured for issue 11 last week',
    'see issue #3 for the contract',
    'kernel resets overlap (src/plan/overlap.ts; issue 16).',
    'Issue 13 found the opposite in the AMD rules',
    'issues 11 and 13 asked for it',
    "the scan guard is issue 16's",
    'This is item 4 of the issue.',
    'Issue 11 items 1, 2, 4, 5 and 6.',
    'the issue asks for a man page',
    'unlink delayed 400 ms (as in the issue)',
    "the issue's item 3",
    'measured in session 1',
    'an earlier session, re-read disk',
    'not measured in this session',
    'for the rest of the session',
    'no guest was booted this round',
    'fixed in the second round',
    "that round's branch",
    'as helper h3 found',
    'baseline (h4-base)',
    'with three other helpers on two cores',
    'with eight helpers on two cores TCG ran slowly',
    'other helpers were running',
    'the lead rewrites it',
    'the default before issue\n16 was xz', // a reference wrapped across two lines
  ];
  const free = [
    'a reset is issued; no FLR is issued 5 ms before the deadline',
    'counted in issue order, which differs from seq',
    '`issued`/`issuedAt` in the trace',
    'a koffi round trip, not a real vfio-pci device',
    'JSON round-trips; the human view renders',
    'MemTotal rounded up to 128 MiB',
    'two rounds interleaved, after one unmeasured round',
    'writes go through a helper process',
    'a few dracut helpers over a directory',
    'the agent kills its helpers (SIGKILL) and exits; killing the helpers',
    'the completion helpers either need a separate program',
    'a directory swapped in between can still lead elsewhere',
    'a `driver` link must lead to a directory',
    'Session IDs are not read; a debug shell session',
    'the issue order of operations is what a rule counts', // "the issue order": the same legitimate term
  ];

  it.each(flagged)('flags %j', (text) => {
    expect(internalReferences(text)).not.toEqual([]);
  });

  it.each(free)('leaves %j alone', (text) => {
    expect(internalReferences(text)).toEqual([]);
  });

  it('names the line of each reference, and shows it in context', () => {
    const found = internalReferences('one\ntwo (issue 16)\nthree\nthe lead\n');
    expect(found.map((f) => f.split(':')[0])).toEqual(['line 2', 'line 4']);
    expect(found[0]).toContain('two (issue 16) three');
  });
});
