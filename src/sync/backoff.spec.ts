import { retryDelayMs } from './backoff';

describe('retryDelayMs', () => {
  const base = { baseMs: 60_000, maxMs: 3_600_000 };

  it.each([
    [1, 0, 60_000],
    [1, 1, 60_000],
    [2, 0, 60_000],
    [2, 1, 120_000],
    [3, 0.5, 180_000],
    [7, 1, 3_600_000],
    [20, 0, 1_800_000],
    [20, 1, 3_600_000],
  ])('attempt %i with random %d waits %i ms', (attempt, r, expected) => {
    expect(retryDelayMs({ ...base, attempt, random: () => r })).toBe(expected);
  });

  it('stays between base and max for any jitter', () => {
    for (let attempt = 1; attempt < 30; attempt++) {
      for (const r of [0, 0.25, 0.5, 0.99]) {
        const delay = retryDelayMs({ ...base, attempt, random: () => r });
        expect(delay).toBeGreaterThanOrEqual(base.baseMs);
        expect(delay).toBeLessThanOrEqual(base.maxMs);
      }
    }
  });

  it('honours a longer Retry-After, ignores a shorter one', () => {
    expect(retryDelayMs({ ...base, attempt: 1, retryAfterMs: 90_000, random: () => 0 })).toBe(90_000);
    expect(retryDelayMs({ ...base, attempt: 1, retryAfterMs: 5_000, random: () => 0 })).toBe(60_000);
  });

  it('works with a zero base (tests and benchmarks)', () => {
    expect(retryDelayMs({ baseMs: 0, maxMs: 0, attempt: 3 })).toBe(0);
  });
});
