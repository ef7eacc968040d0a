import { freePort } from '../faults/processes';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

const LIMIT = 3;

/**
 * Failed authentications from one client address are throttled (429 problem+json with Retry-After),
 * shared by every API process through Redis, and the body of a request is read only after its key
 * is authenticated.
 */
describe('Failed-authentication throttle', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    await flushTestRedis();
    // Two API processes; the client address comes from X-Forwarded-For (one trusted proxy hop).
    const env = { AUTH_FAILURE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: '1' };
    a = await startTestApp(env, 'api');
    b = await startTestApp(env, 'api');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  const from = (address: string, key: string | null, app = a) =>
    apiClient(app.url).get('/api/jobs', { key, headers: { 'x-forwarded-for': address } });

  it('answers 401 up to the limit, then 429 with Retry-After, even for the right key, on every API process', async () => {
    const address = '203.0.113.10';
    for (let i = 0; i < LIMIT; i++) {
      const res = await from(address, `te_wrong_key_${i}`, i % 2 ? b : a);
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
    for (const app of [a, b]) {
      const res = await from(address, TEST_ADMIN_KEY, app);
      expectProblem(res, 429);
      expect(res.body.detail).toBe('Too many failed authentications from this address');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    // Another address is not affected.
    expect((await from('203.0.113.11', TEST_ADMIN_KEY)).status).toBe(200);
  });

  it('does not count requests that present no key', async () => {
    const address = '203.0.113.20';
    for (let i = 0; i < LIMIT + 2; i++) expectProblem(await from(address, null), 401);
    expect((await from(address, TEST_ADMIN_KEY)).status).toBe(200);
  });

  it('counts wrong basic-auth passwords at the queue dashboard', async () => {
    const address = '203.0.113.30';
    const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
    for (let i = 0; i < LIMIT; i++) {
      const res = await fetch(`${a.url}/admin/queues`, {
        headers: { authorization: basic(`wrong-${i}`), 'x-forwarded-for': address },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
    const res = await fetch(`${a.url}/admin/queues`, {
      headers: { authorization: basic(TEST_ADMIN_KEY), 'x-forwarded-for': address },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('reads no body before the key is authenticated', async () => {
    // Not JSON and over the 256 kB limit: without a valid key the answer is 401, not 400 or 413.
    const big = '{'.repeat(300_000);
    for (const body of ['{not json', big]) {
      const res = await apiClient(a.url).call('POST', '/api/jobs', {
        rawBody: body,
        key: null,
        headers: { 'x-forwarded-for': '203.0.113.40' },
      });
      expectProblem(res, 401);
    }
    // With the key, the same bodies are read and refused for what they are.
    const bad = await apiClient(a.url, TEST_ADMIN_KEY).call('POST', '/api/jobs', { rawBody: '{not json' });
    expect(expectProblem(bad, 400).detail).toBe('The request body is not valid JSON');
    const large = await apiClient(a.url, TEST_ADMIN_KEY).call('POST', '/api/jobs', { rawBody: big });
    expect(expectProblem(large, 413).detail).toBe('The request body is too large');
  });
});

describe('Failed-authentication throttle while Redis is down', () => {
  it('fails open: wrong keys stay 401, the right key works', async () => {
    const t = await startTestApp(
      { AUTH_FAILURE_LIMIT_PER_MINUTE: '1', REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
      'api',
    );
    try {
      for (let i = 0; i < 3; i++) expectProblem(await apiClient(t.url).get('/api/jobs', { key: `te_wrong_${i}` }), 401);
      expect((await apiClient(t.url, TEST_ADMIN_KEY).get('/api/jobs')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
