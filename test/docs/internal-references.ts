/**
 * References a reader of the shipped text cannot follow: the project's issue tracker ("issue 11",
 * "(issue #3)", "item 4 of the issue", "as in the issue"), its work sessions and rounds ("session 1",
 * "this round"), and the people and branches that did the work ("helper h3", "other helpers", "the
 * lead", "h4-base"). A reader has none of them; the docs state the fact instead.
 *
 * Precise on purpose, so that real words stay free: "a reset is issued", "counted in issue order",
 * "a koffi round trip", "rounded up", "two rounds interleaved" (bench runs), "a helper process",
 * "dracut helpers", "the agent kills its helpers", "can lead elsewhere". test/docs/internal-references
 * .test.ts holds examples of both kinds, so the pattern cannot silently weaken or overreach.
 */
const ORDINAL = 'this|that|first|second|third|fourth|next|previous|last|earlier|later|same|each|every|one';
const COUNT = 'other|two|three|four|five|six|seven|eight|nine|ten|several|\\d+';

export const INTERNAL_REFERENCE = new RegExp(
  [
    // issue 11, issues 11 and 13, issue #3, (issue 16), Issue 13 found, issue 16's
    String.raw`\bissues?\s+#?\d+`,
    // the issue asks, as in the issue, item 4 of the issue, the item 2
    String.raw`\bthe\s+issue(?:'s)?\b(?!\s+order\b)`,
    // item 4 of ..., items 1, 2 and 4
    String.raw`\bitems?\s+\d+(?:\s*,\s*\d+)*\s+of\s+(?:the|issue)\b`,
    // session 1, this session, an earlier session, the rest of the session
    String.raw`\bsessions?\s+\d+`,
    String.raw`\b(?:the|${ORDINAL})\s+sessions?\b`,
    // this round, second round, that round's changes
    String.raw`\b(?:this|that|second|third|fourth|next|previous|earlier|last)\s+round\b(?!\s*-?\s*trips?\b)`,
    // helper h3, h4-base, other helpers, with eight helpers
    String.raw`\bhelpers?\s+h\d+\b`,
    String.raw`\bh\d+-(?:base|main)\b`,
    String.raw`\b(?:${COUNT})\s+(?:other\s+)?helpers\b`,
    // the lead (the person who merges), not "can lead elsewhere"
    String.raw`\bthe\s+lead\b`,
  ].join('|'),
  'gi',
);

/**
 * Every internal reference in `text`, as `line N: …context…`. Matched on the whole text, since a wrapped
 * paragraph can split "issue\n16" across two lines.
 */
export function internalReferences(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(INTERNAL_REFERENCE)) {
    const line = text.slice(0, m.index).split('\n').length;
    const context = text.slice(Math.max(0, m.index - 30), m.index + m[0].length + 30).replace(/\s+/g, ' ');
    found.push(`line ${line}: …${context}…`);
  }
  return found;
}
