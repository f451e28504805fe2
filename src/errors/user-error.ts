import { EXIT } from './exit-codes.js';

/**
 * An error meant for the user: one line, no stack trace, a documented exit status (exit-codes.ts). Thrown
 * by any layer that checks what the user asked for (the plan inputs, quirk tables, capture's output
 * directory); the CLI prints it (src/cli/fail.ts).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
  }
}
