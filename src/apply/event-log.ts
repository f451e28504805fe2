/**
 * What the executor logs through: one structured event per action. pino's Logger fits; tests pass a
 * collector. Every event carries an `event` field (`step.start`, `step.reset`, `step.end`, …).
 */
export interface EventLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLog: EventLog = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
};

/** A log that keeps events in memory (tests, and `--simulate` summaries). */
export class MemoryLog implements EventLog {
  readonly events: { level: string; msg?: string; [k: string]: unknown }[] = [];
  info(obj: object, msg?: string): void {
    this.events.push({ level: 'info', ...obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.events.push({ level: 'warn', ...obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.events.push({ level: 'error', ...obj, msg });
  }
  debug(obj: object, msg?: string): void {
    this.events.push({ level: 'debug', ...obj, msg });
  }
}
