import { CircuitOpenError, ConnectionUnusableError, StoredCredentialsError } from '../connections/connection-errors';
import { ProviderError } from '../providers/provider-error';
import { retryDelayMs } from './backoff';

export type FailureDecision =
  | { status: 'failed'; nextRetryAt: Date; lastError: string; countsAsAttempt: boolean }
  | { status: 'permanently_failed'; lastError: string };

/**
 * What a failed sync attempt leads to (twenty's error-code-to-action table): permanent provider errors and
 * unusable connections stop at once with their message; everything else is retried with backoff until the
 * attempt budget is spent, so nothing is retried forever. A provider 429 is the provider pacing us, and an open
 * circuit means no call was made: neither is a failure of the referral, neither uses up an attempt.
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
  if (error instanceof ConnectionUnusableError) return { status: 'permanently_failed', lastError: error.message };
  // No call was made: the attempt waits for the circuit to reopen and does not count.
  if (error instanceof CircuitOpenError) {
    return { status: 'failed', nextRetryAt: error.retryAt, lastError: error.message, countsAsAttempt: false };
  }
  if (error instanceof ProviderError) {
    if (!error.retryable) return { status: 'permanently_failed', lastError: error.message };
    if (error.code === 'RATE_LIMITED') return retry(params, error.message, false, error.retryAfterMs);
    return retryWithinBudget(params, error.message, error.message, error.retryAfterMs);
  }
  // Our own failure (database, bug, stored data): retried within the budget, without leaking internals into
  // lastError; stored credentials that no longer parse are named, never their values.
  const message = error instanceof StoredCredentialsError ? error.message : 'internal error while syncing';
  return retryWithinBudget(params, message, `${message}; will retry`);
}

function retryWithinBudget(
  params: Parameters<typeof decideAfterFailure>[0],
  message: string,
  retryMessage: string,
  retryAfterMs?: number,
): FailureDecision {
  if (params.attempts >= params.maxAttempts) {
    return { status: 'permanently_failed', lastError: `${message} (gave up after ${params.attempts} attempts)` };
  }
  return retry(params, retryMessage, true, retryAfterMs);
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
