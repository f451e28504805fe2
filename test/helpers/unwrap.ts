/**
 * A human view with its 80-column wrapping undone (continuation lines are indented), for assertions
 * on a whole sentence whatever width it happens to wrap at.
 */
export function unwrap(text: string): string {
  return text.replace(/\n +(?=\S)/g, ' ');
}
