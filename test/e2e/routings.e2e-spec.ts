import { Queue } from 'bullmq';

import { PRIORITY, QUEUE } from '../../src/queue/queues';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY, TEST_REDIS_URL } from '../test-env';

describe('Routings API - /api/routings', () => {
  let t: TestApp;
  let admin: ApiClient;
  let syncQueue: Queue;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({}, 'api');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    const url = new URL(TEST_REDIS_URL);
    syncQueue = new Queue(QUEUE.sync, {
      connection: { host: url.hostname, port: Number(url.port), db: Number(url.pathname.slice(1)) },
    });
  });
  afterAll(async () => {
    await syncQueue.close();
    await t.close();
  });

  async function newJob(receivers = 2) {
    const { referrer, technician, targets } = await createNetwork(admin, receivers);
    const res = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: targets.map((c) => c.id) }),
    );
    return res.body;
  }

  it('GET /api/routings/:id returns the routing with its event timeline', async () => {
    const job = await newJob(1);
    const res = await admin.get(`/api/routings/${job.routings[0].id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: job.routings[0].id, jobId: job.id, status: 'pending' });
    expect(res.body.events).toEqual([
      expect.objectContaining({ type: 'created', outcome: 'pending', at: expect.any(String) }),
    ]);
    expectProblem(await admin.get('/api/routings/00000000-0000-4000-8000-000000000000'), 404);
  });

  it('GET /api/routings filters by job, company, status and provider', async () => {
    const job = await newJob(2);
    const byJob = await admin.get(`/api/routings?jobId=${job.id}`);
    expect(byJob.body.items).toHaveLength(2);
    const byCompany = await admin.get(`/api/routings?companyId=${job.routings[0].companyId}`);
    expect(byCompany.body.items.map((r: any) => r.id)).toEqual([job.routings[0].id]);
    const byStatus = await admin.get(`/api/routings?jobId=${job.id}&status=synced`);
    expect(byStatus.body.items).toHaveLength(0);
    const byProvider = await admin.get(`/api/routings?jobId=${job.id}&providerType=servicetitan`);
    expect(byProvider.body.items).toHaveLength(2);
    expectProblem(await admin.get('/api/routings?status=nope'), 400, 'status');
    expectProblem(await admin.get('/api/routings?providerType=fieldedge'), 400, 'providerType');
  });

  describe('POST /api/routings/:id/retry', () => {
    it('409 for a routing that is not failed', async () => {
      const job = await newJob(1);
      expectProblem(await admin.post(`/api/routings/${job.routings[0].id}/retry`), 409);
    });

    it('puts a permanently failed routing back to pending with a fresh budget, reopens the job, enqueues at high priority', async () => {
      const job = await newJob(1);
      const id = job.routings[0].id;
      await syncQueue.remove(id);
      await t.db.query(
        `UPDATE routings SET status = 'permanently_failed', attempts = 3, last_error = 'boom' WHERE id = $1`,
        [id],
      );
      await t.db.query(`UPDATE jobs SET status = 'canceled', finished_at = now() WHERE id = $1`, [job.id]);

      const res = await admin.post(`/api/routings/${id}/retry`);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id, status: 'pending', attempts: 0, nextRetryAt: null });
      const queued = await syncQueue.getJob(id);
      expect(queued?.opts.priority).toBe(PRIORITY.high);
      expect((await admin.get(`/api/jobs/${job.id}`)).body.status).toBe('open');
      const events = (await admin.get(`/api/routings/${id}`)).body.events.map((e: any) => e.type);
      expect(events).toEqual(['created', 'manual_retry']);
      // A second retry finds it pending: conflict.
      expectProblem(await admin.post(`/api/routings/${id}/retry`), 409);
    });

    it('404 for an unknown routing', async () => {
      expectProblem(await admin.post('/api/routings/00000000-0000-4000-8000-000000000000/retry'), 404);
    });
  });
});
