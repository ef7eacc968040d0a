// Tests use their own database and Redis logical database, so they never touch a running dev service.
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tradeengage_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
export const TEST_ADMIN_KEY = 'te_test_admin_key_0123456789';
