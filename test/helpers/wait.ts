import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it returns a truthy value (returned) or the timeout passes (throws with the last value). */
export async function waitFor<T>(
  check: () => Promise<T>,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}
