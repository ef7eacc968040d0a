import { ProviderError } from '../providers/provider-error';
import { retryDelayMs } from './backoff';

export type FailureDecision =
  | { status: 'failed'; nextRetryAt: Date; lastError: string; countsAsAttempt: boolean }
  | { status: 'permanently_failed'; lastError: string };

/**
 * What a failed sync attempt leads to (twenty's error-code-to-action table, for both providers):
 * permanent provider errors stop at once with the provider's message; retryable ones are retried
 * with backoff until the attempt budget is spent. A provider 429 is the provider pacing us, not a
 * failure of the referral, so it does not use up an attempt.
 */
export function decideAfterFailure(params: {
  error: unknown;
  attempts: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  now: Date;
  random?: () => number;
}): FailureDecision {
  const { error } = params;
  if (!(error instanceof ProviderError)) {
    // Our own failure (database, bug): retry, without leaking internals into lastError.
    return retry(params, 'internal error while syncing; will retry', true);
  }
  if (!error.retryable) return { status: 'permanently_failed', lastError: error.message };
  const rateLimited = error.code === 'RATE_LIMITED';
  if (!rateLimited && params.attempts >= params.maxAttempts) {
    return { status: 'permanently_failed', lastError: `${error.message} (gave up after ${params.attempts} attempts)` };
  }
  return retry(params, error.message, !rateLimited, error.retryAfterMs);
}

function retry(
  params: { attempts: number; baseDelayMs: number; maxDelayMs: number; now: Date; random?: () => number },
  lastError: string,
  countsAsAttempt: boolean,
  retryAfterMs?: number,
): FailureDecision {
  const delay = retryDelayMs({
    attempt: params.attempts,
    baseMs: params.baseDelayMs,
    maxMs: params.maxDelayMs,
    retryAfterMs,
    random: params.random,
  });
  return { status: 'failed', nextRetryAt: new Date(params.now.getTime() + delay), lastError, countsAsAttempt };
}
