// Tests use their own database and Redis logical database, so they never touch a running dev service.
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tradeengage_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
export const TEST_ADMIN_KEY = 'te_test_admin_key_0123456789';
/** The OAuth app the provider sandbox knows by default. */
export const SANDBOX_JOBBER_APP = {
  clientId: 'sandbox-jobber-client-id',
  clientSecret: 'sandbox-jobber-client-secret',
};

/** Fast retries, sweeps only when a test asks (admin API), provider limits out of the way. */
export const FAST_SYNC_ENV = {
  RETRY_BASE_DELAY_MS: '100',
  RETRY_MAX_DELAY_MS: '400',
  // Long enough for a loaded CI machine; the timeout-after-create tests still finish in seconds.
  PROVIDER_TIMEOUT_MS: '3000',
  // Sweeps are triggered by the tests through the admin API, never by the clock.
  SYNC_CRON: '0 0 1 1 *',
  POLL_CRON: '0 0 1 1 *',
  RETRY_CRON: '0 0 1 1 *',
  CLEANUP_CRON: '0 0 1 1 *',
  WEBHOOK_SWEEP_CRON: '0 0 1 1 *',
  RATE_LIMITS: JSON.stringify({
    servicetitan: { perMinute: 100000, perHour: 1000000, burst: 1000 },
    housecallpro: { perMinute: 100000, perHour: 1000000, burst: 1000 },
    jobber: { perMinute: 100000, perHour: 1000000, burst: 1000 },
  }),
  API_RATE_LIMIT_PER_MINUTE: '100000',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
};
