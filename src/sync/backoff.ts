/**
 * Delay before the next attempt: exponential from `baseMs`, capped at `maxMs`, with "equal jitter"
 * (half fixed, half random) so retries of many routings spread out. A provider's Retry-After wins
 * when it asks for longer.
 */
export function retryDelayMs(params: {
  attempt: number;
  baseMs: number;
  maxMs: number;
  retryAfterMs?: number;
  random?: () => number;
}): number {
  const random = params.random ?? Math.random;
  const exponential = Math.min(params.maxMs, params.baseMs * 2 ** Math.max(0, params.attempt - 1));
  const jittered = Math.max(
    Math.min(params.baseMs, exponential),
    Math.round(exponential / 2 + (random() * exponential) / 2),
  );
  return Math.max(jittered, params.retryAfterMs ?? 0);
}
