/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts colour and cursor
 * sequences, CR and LF forge lines), DEL, the C1 block (0x9b is a one-byte CSI on some terminals), the
 * Unicode line/paragraph separators and the bidirectional overrides that reorder what is displayed.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from the machine (driver names, directory entries, `sys/class/iommu` names, file contents quoted in
 * a problem) made safe to print: every unsafe character becomes a visible `\xHH` / `\uHHHH` escape, so
 * one record stays one line and nothing on the host can colour, move or rewrite the agent's output.
 * Every human renderer passes each line it builds through this one function.
 */
export function printable(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The lines of a human view as the text to print: each line made printable, one newline after each. */
export function textBlock(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.map(printable).join('\n')}\n`;
}
