import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitWhenDone, LINGER_MS, setExitBound } from '../../src/cli/exit-when-done.js';

afterEach(() => {
  setExitBound(null);
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/**
 * Regression: `apply` that gave up on a reset write still blocked in the kernel printed its report at the
 * deadline, but the pending request kept Node alive until the kernel returned (60.3 s measured for
 * `apply --simulate` with every function dead and a 1 s deadline). The CLI now leaves LINGER_MS after.
 */
describe('exitWhenDone', () => {
  it('sets the status and exits LINGER_MS later if something still holds the event loop', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const saved = process.exitCode;
    try {
      exitWhenDone(4);
      expect(process.exitCode).toBe(4);
      vi.advanceTimersByTime(LINGER_MS - 1);
      expect(exit).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(exit).toHaveBeenCalledWith(4);
    } finally {
      process.exitCode = saved;
    }
  });

  it('the timer does not itself keep the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const saved = process.exitCode;
    try {
      exitWhenDone(0, 60_000);
      const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      clearTimeout(timer);
      expect(exit).not.toHaveBeenCalled();
    } finally {
      process.exitCode = saved;
    }
  });

  it('waits while stdout still has output queued (a pipe not read yet), but not past the exit bound', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    let queued = 1_000_000;
    vi.spyOn(process.stdout, 'writableLength', 'get').mockImplementation(() => queued);
    const saved = process.exitCode;
    try {
      exitWhenDone(0);
      vi.advanceTimersByTime(LINGER_MS + 10_000);
      expect(exit).not.toHaveBeenCalled();
      queued = 0;
      vi.advanceTimersByTime(100);
      expect(exit).toHaveBeenCalledWith(0);

      exit.mockClear();
      queued = 1_000_000;
      setExitBound(performance.now() + LINGER_MS + 500);
      exitWhenDone(3);
      vi.advanceTimersByTime(LINGER_MS + 1_000);
      expect(exit).toHaveBeenCalledWith(3);
    } finally {
      process.exitCode = saved;
    }
  });
});
