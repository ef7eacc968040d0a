import { CircuitOpenError, ConnectionUnusableError, StoredCredentialsError } from '../connections/connection-errors';
import { ProviderError } from '../providers/provider-error';
import { decideAfterFailure } from './sync-decision';

const now = new Date('2026-11-28T12:00:00Z');
const base = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000, now, random: () => 0 };
const providerError = (
  code: ProviderError['code'],
  retryable: boolean,
  extra: Partial<{ httpStatus: number; retryAfterMs: number }> = {},
) => new ProviderError({ code, retryable, providerMessage: `msg ${code}`, ...extra });

describe('decideAfterFailure', () => {
  it.each([
    ['503 on the first attempt', providerError('TEMPORARY', true, { httpStatus: 503 }), 1, 'failed'],
    ['timeout on the second attempt', providerError('TIMEOUT', true), 2, 'failed'],
    ['network error on the last attempt', providerError('NETWORK', true), 3, 'permanently_failed'],
    ['500 on the third attempt', providerError('TEMPORARY', true, { httpStatus: 500 }), 3, 'permanently_failed'],
    ['400 at once', providerError('INVALID', false, { httpStatus: 400 }), 1, 'permanently_failed'],
    ['401 after the token refresh', providerError('AUTH', false, { httpStatus: 401 }), 1, 'permanently_failed'],
    ['404', providerError('NOT_FOUND', false, { httpStatus: 404 }), 1, 'permanently_failed'],
    ['429 even past the budget', providerError('RATE_LIMITED', true, { httpStatus: 429 }), 5, 'failed'],
    ['an internal error', new Error('connection terminated'), 1, 'failed'],
    ['an internal error on the last attempt', new Error('connection terminated'), 3, 'permanently_failed'],
    ['stored credentials that no longer parse', new StoredCredentialsError('c1', ['tenantId']), 2, 'failed'],
    ['stored credentials on the last attempt', new StoredCredentialsError('c1', ['tenantId']), 3, 'permanently_failed'],
    ['an invalid connection at once', ConnectionUnusableError.invalid('c1', 'rejected'), 1, 'permanently_failed'],
  ])('%s → %s', (_, error, attempts, status) => {
    expect(decideAfterFailure({ ...base, error, attempts }).status).toBe(status);
  });

  it('keeps the provider message for permanent errors', () => {
    const decision = decideAfterFailure({
      ...base,
      error: providerError('INVALID', false, { httpStatus: 400 }),
      attempts: 1,
    });
    expect(decision).toEqual({ status: 'permanently_failed', lastError: expect.stringContaining('msg INVALID') });
  });

  it('schedules by backoff, or later when Retry-After asks for it; a 429 does not use an attempt', () => {
    const retry = decideAfterFailure({ ...base, error: providerError('TEMPORARY', true), attempts: 2 });
    expect(retry).toMatchObject({
      status: 'failed',
      nextRetryAt: new Date(now.getTime() + 60_000),
      countsAsAttempt: true,
    });
    const limited = decideAfterFailure({
      ...base,
      error: providerError('RATE_LIMITED', true, { retryAfterMs: 120_000 }),
      attempts: 1,
    });
    expect(limited).toMatchObject({
      status: 'failed',
      nextRetryAt: new Date(now.getTime() + 120_000),
      countsAsAttempt: false,
    });
  });

  it('never leaks an internal error message', () => {
    const decision = decideAfterFailure({ ...base, error: new Error('password=hunter2 in SQL'), attempts: 1 });
    expect(JSON.stringify(decision)).not.toContain('hunter2');
  });

  it('names the connection problem when a connection is unusable', () => {
    const decision = decideAfterFailure({
      ...base,
      error: ConnectionUnusableError.invalid('c1', 'ServiceTitan rejected the credentials'),
      attempts: 1,
    });
    expect(decision).toEqual({
      status: 'permanently_failed',
      lastError: 'connection c1 is invalid: ServiceTitan rejected the credentials',
    });
  });

  it('gives up on internal errors after the attempt budget, saying so', () => {
    const decision = decideAfterFailure({ ...base, error: new Error('boom'), attempts: 3 });
    expect(decision).toEqual({
      status: 'permanently_failed',
      lastError: 'internal error while syncing (gave up after 3 attempts)',
    });
  });

  it('defers to the reopening time of an open circuit, without using up an attempt', () => {
    const retryAt = new Date(now.getTime() + 42_000);
    const decision = decideAfterFailure({ ...base, error: new CircuitOpenError('c1', retryAt), attempts: 3 });
    expect(decision).toEqual({
      status: 'failed',
      nextRetryAt: retryAt,
      lastError: expect.stringContaining('circuit of connection c1 is open'),
      countsAsAttempt: false,
    });
  });
});
