import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

describe('Cleanup sweep - archive, expire, rescue', () => {
  let t: TestApp;
  let admin: ApiClient;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(
      { ...FAST_SYNC_ENV, ARCHIVE_AFTER_DAYS: '90', SYNC_JOB_TIMEOUT_MS: '60000', PROVIDER_TIMEOUT_MS: '1000' },
      'all',
    );
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    await truncateAll(t.db);
  });
  afterAll(() => t.close());

  /** `count` jobs of one new company, each with one routing and one event. */
  async function seedJobs(
    count: number,
    status: string,
    finishedDaysAgo: number | null,
    routingStatus: string,
  ): Promise<void> {
    await t.db.query(
      `WITH c AS (INSERT INTO companies (name) VALUES ('seed') RETURNING id),
            tech AS (INSERT INTO technicians (company_id, first_name, last_name) SELECT id, 'T', 'T' FROM c RETURNING id, company_id),
            j AS (
              INSERT INTO jobs (status, company_id, technician_id, homeowner, address, summary, finished_at, created_at)
              SELECT $2, tech.company_id, tech.id, '{"firstName":"A","lastName":"B","phone":null,"email":"a@b.example"}',
                     '{"street":"1 Main St","unit":null,"city":"Austin","state":"TX","zip":"78701","country":"US"}',
                     'seed ' || g,
                     CASE WHEN $3::int IS NULL THEN NULL ELSE now() - $3::int * interval '1 day' END,
                     now() - interval '200 days'
                FROM tech, generate_series(1, $1::int) g RETURNING id, company_id),
            r AS (
              INSERT INTO routings (job_id, company_id, provider_type, status)
              SELECT j.id, j.company_id, 'servicetitan', $4 FROM j RETURNING id)
       INSERT INTO routing_events (routing_id, type, outcome) SELECT id, 'created', 'pending' FROM r`,
      [count, status, finishedDaysAgo, routingStatus],
    );
  }

  it('archives exactly the finished jobs older than ARCHIVE_AFTER_DAYS, with routings and events, in batches', async () => {
    // 1,201 old finished jobs (more than two 500-job batches), plus ones that must stay.
    await seedJobs(1_000, 'completed', 120, 'completed');
    await seedJobs(201, 'canceled', 91, 'permanently_failed');
    await seedJobs(7, 'completed', 30, 'completed'); // finished too recently
    await seedJobs(5, 'open', null, 'synced'); // old but not finished
    const before = await t.db.query(`SELECT count(*)::int AS n FROM jobs`);
    expect(before[0].n).toBe(1_213);

    expect((await admin.post('/api/admin/sweeps/cleanup/run')).status).toBe(202);
    await waitFor(async () => (await t.db.query(`SELECT count(*)::int AS n FROM archived_jobs`))[0].n === 1_201, {
      what: 'archive',
      timeoutMs: 30_000,
    });
    const [live] = await t.db.query(
      `SELECT count(*)::int AS jobs, count(*) FILTER (WHERE status = 'completed' AND finished_at > now() - interval '90 days')::int AS recent,
              count(*) FILTER (WHERE status = 'open')::int AS open FROM jobs`,
    );
    expect(live).toEqual({ jobs: 12, recent: 7, open: 5 });
    const [archived] = await t.db.query(
      `SELECT (SELECT count(*)::int FROM archived_routings) AS routings, (SELECT count(*)::int FROM archived_routing_events) AS events,
              (SELECT count(*)::int FROM archived_jobs WHERE finished_at > now() - interval '90 days') AS too_young,
              (SELECT count(*)::int FROM routings r JOIN archived_jobs a ON a.id = r.job_id) AS left_behind`,
    );
    expect(archived).toEqual({ routings: 1_201, events: 1_201, too_young: 0, left_behind: 0 });
    const [{ n: liveEvents }] = await t.db.query(`SELECT count(*)::int AS n FROM routing_events`);
    expect(liveEvents).toBe(12);
  });

  it('expires idempotency keys older than 24 h and keeps fresh ones', async () => {
    await t.db.query(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, response_status, response_body, created_at)
       VALUES ('s', 'old', 'f', 201, '{}', now() - interval '25 hours'), ('s', 'fresh', 'f', 201, '{}', now() - interval '1 hour')`,
    );
    await admin.post('/api/admin/sweeps/cleanup/run');
    await waitFor(
      async () => (await t.db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'old'`))[0].n === 0,
      { what: 'expiry' },
    );
    expect((await t.db.query(`SELECT key FROM idempotency_keys WHERE scope = 's'`)).map((r: any) => r.key)).toEqual([
      'fresh',
    ]);
  });

  it('returns routings stuck in syncing past the stale timeout to failed, leaving live attempts alone', async () => {
    await seedJobs(2, 'open', null, 'syncing');
    const stuck: { id: string }[] = await t.db.query(`SELECT id FROM routings WHERE status = 'syncing' ORDER BY id`);
    // One abandoned long ago, one claimed a moment ago.
    await t.db.query(`UPDATE routings SET status_changed_at = now() - interval '2 hours' WHERE id = $1`, [stuck[0].id]);
    await t.db.query(`UPDATE routings SET status_changed_at = now() WHERE id = $1`, [stuck[1].id]);
    await admin.post('/api/admin/sweeps/cleanup/run');
    const rescued = await waitFor(
      async () => {
        const [r] = await t.db.query(`SELECT status, last_error FROM routings WHERE id = $1`, [stuck[0].id]);
        return r.status !== 'syncing' ? r : null;
      },
      { what: 'rescue' },
    );
    expect(rescued.last_error).toContain('abandoned');
    const [alive] = await t.db.query(`SELECT status FROM routings WHERE id = $1`, [stuck[1].id]);
    expect(alive.status).toBe('syncing');
    const [event] = await t.db.query(
      `SELECT type, outcome FROM routing_events WHERE routing_id = $1 AND type = 'rescued'`,
      [stuck[0].id],
    );
    expect(event).toEqual({ type: 'rescued', outcome: 'failed' });
  });
});
