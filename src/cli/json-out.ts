/**
 * The one JSON layout of every `--json`: two-space indentation, a newline at the end (`jq -c` makes it
 * one line). `scan --json` streams the same layout device by device (src/scan/write-json.ts).
 */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
