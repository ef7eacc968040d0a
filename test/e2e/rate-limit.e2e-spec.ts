import { systemActor } from '../../src/audit/actor';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

describe('Inbound rate limit per API key', () => {
  let t: TestApp;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '5' }, 'api');
  });
  afterAll(() => t.close());

  it('answers 429 problem+json with Retry-After past the limit, per key, shared through Redis', async () => {
    const admin = apiClient(t.url, TEST_ADMIN_KEY);
    const other = (await admin.post('/api/api-keys', { name: 'other', role: 'admin' })).body.key;
    // Creating the key above was the admin key's first call of the minute.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await admin.get('/api/jobs')).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const limited = await admin.get('/api/jobs');
    expectProblem(limited, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another key has its own budget; health is never limited.
    expect((await apiClient(t.url, other).get('/api/jobs')).status).toBe(200);
    expect((await apiClient(t.url).get('/api/health/live')).status).toBe(200);
  });

  it('counts the queue dashboard (Bull Board) against the same key', async () => {
    // A fresh key (made without an API call: the admin key spent its minute above).
    const { key } = await t.app.get(ApiKeysService).create({ name: 'dashboard', role: 'admin' }, systemActor());
    const basic = `Basic ${Buffer.from(`ops:${key}`).toString('base64')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await fetch(`${t.url}/admin/queues/api/queues`, { headers: { authorization: basic } })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});
