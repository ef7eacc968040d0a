import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

const DAY = 86_400_000;

describe('Polling Housecall Pro through its change feed (connections.poll_cursor, sandbox over HTTP)', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
  });
  afterAll(() => t.close());

  /** A Housecall Pro company with `history` old jobs and `n` synced referrals. */
  async function hcpCompany(n: number, history = 250) {
    const apiKey = `hcp_feed_${Date.now()}_${Math.random().toString(36).slice(2)}`;
    const { keyId } = await sandbox.addHousecallProHistory(
      apiKey,
      history,
      new Date(Date.now() - 30 * DAY).toISOString(),
    );
    const { referrer, technician, targets } = await createNetwork(admin, 1, {
      provider: { type: 'housecallpro', credentials: { apiKey } },
    });
    const routingIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, {
          targetCompanyIds: [targets[0].id],
          homeowner: { firstName: 'Feed', lastName: `Owner${i}`, phone: `(512) 555-01${10 + i}` },
        }),
      );
      expect(res.status).toBe(201);
      routingIds.push(res.body.routings[0].id);
    }
    const synced = await waitFor(
      async () => {
        const rows: { id: string; external_id: string; connection_id: string; status: string }[] = await t.db.query(
          `SELECT id, external_id, connection_id, status FROM routings WHERE id = ANY($1::uuid[])`,
          [routingIds],
        );
        return rows.length === n && rows.every((r) => r.status === 'synced') ? rows : null;
      },
      { what: 'referrals synced' },
    );
    const byId = new Map(synced!.map((r) => [r.id, r]));
    return {
      apiKey,
      keyId,
      connectionId: synced![0].connection_id,
      externalIds: routingIds.map((id) => byId.get(id)!.external_id),
      routingIds,
    };
  }

  const cursorOf = async (connectionId: string) =>
    (await t.db.query(`SELECT poll_cursor FROM connections WHERE id = $1`, [connectionId]))[0].poll_cursor as {
      position: string;
      takenAt: string;
    } | null;
  /**
   * Runs the poll sweep and waits for this connection's poll to end (it stores its cursor last); returns the
   * Housecall Pro requests made with this company's key, by route.
   */
  async function poll({ connectionId, keyId }: { connectionId: string; keyId: string }) {
    await sandbox.resetStats();
    const started = Date.now();
    expect((await admin.post('/api/admin/sweeps/poll/run')).status).toBe(202);
    await waitFor(
      async () => {
        const cursor = await cursorOf(connectionId);
        return cursor && Date.parse(cursor.takenAt) >= started - 1000 ? cursor : null;
      },
      { what: 'the poll to store its cursor' },
    );
    await waitFor(
      async () => {
        const queues: { waiting: number; active: number }[] = (await admin.get('/api/admin/queues')).body;
        return queues.every((q) => q.waiting + q.active === 0);
      },
      { what: 'queues idle' },
    );
    const routes: Record<string, number> = {};
    for (const r of await sandbox.requests({ provider: 'housecallpro', limit: 10_000 })) {
      if (r.credential === keyId) routes[r.route] = (routes[r.route] ?? 0) + 1;
    }
    return routes;
  }
  const providerStatus = async (routingId: string) =>
    (await admin.get(`/api/routings/${routingId}`)).body.providerStatus as string;
  // The feed vouches for routings synced before the last poll started; these were synced moments before it.
  const syncedLongAgo = (routingIds: string[]) =>
    t.db.query(`UPDATE routings SET synced_at = synced_at - interval '1 hour' WHERE id = ANY($1::uuid[])`, [
      routingIds,
    ]);

  it('the first poll stores the mark; a change after it is read from one list page, whatever the history', async () => {
    const c = await hcpCompany(3);
    expect(await cursorOf(c.connectionId)).toBeNull();
    expect(await poll(c)).toEqual({ 'GET /jobs': 1 }); // the 3 jobs are the newest: page 1 names them
    const first = await cursorOf(c.connectionId);
    const newest = (await sandbox.housecallProRecords()).jobs
      .filter((j: { id: string }) => c.externalIds.includes(j.id))
      .map((j: { updated_at: string }) => j.updated_at)
      .sort()
      .at(-1);
    expect(first?.position).toBe(newest);

    await syncedLongAgo(c.routingIds);
    await sandbox.scheduleHcpJob(c.externalIds[1]);
    await sandbox.addHousecallProHistory(c.apiKey, 2000, new Date(Date.now() - 20 * DAY).toISOString());
    expect(await poll(c)).toEqual({ 'GET /jobs': 1 });
    expect(await providerStatus(c.routingIds[1])).toBe('scheduled');
    expect(await providerStatus(c.routingIds[0])).toBe('received');
    expect(Date.parse((await cursorOf(c.connectionId))!.position)).toBeGreaterThan(Date.parse(first!.position));

    await sandbox.completeHcpJob(c.externalIds[2], 45_600);
    await poll(c);
    expect((await admin.get(`/api/routings/${c.routingIds[2]}`)).body).toMatchObject({
      status: 'completed',
      revenueCents: 45_600,
    });
  });

  it('jobs outside the feed are unchanged and cost nothing; a routing synced since the last poll began is read by id', async () => {
    const c = await hcpCompany(3);
    await poll(c);
    await syncedLongAgo(c.routingIds.slice(0, 2));
    // A mark past every job's updated_at: the feed names none of them (as for a job changed just before the last
    // poll's mark, whose routing was not synced yet when that poll ran).
    await t.db.query(`UPDATE connections SET poll_cursor = $2 WHERE id = $1`, [
      c.connectionId,
      { position: new Date(Date.now() + DAY).toISOString(), takenAt: new Date().toISOString() },
    ]);
    await sandbox.scheduleHcpJob(c.externalIds[2]);
    const routes = await poll(c);
    expect(routes).toEqual({ 'GET /jobs': 1, 'GET /jobs/{id}': 1 });
    expect(await providerStatus(c.routingIds[2])).toBe('scheduled');
    const polled: { n: number }[] = await t.db.query(
      `SELECT count(*)::int AS n FROM routings WHERE id = ANY($1::uuid[]) AND last_polled_at > now() - interval '1 minute'`,
      [c.routingIds],
    );
    expect(polled[0].n).toBe(3); // the unchanged ones count as polled too
  });

  it('falls back to reads by id: jobs missing from page 1 on a first poll, or a scan past the cost of reading by id', async () => {
    const c = await hcpCompany(3);
    // 150 jobs newer than the referrals: page 1 of the first poll does not reach them.
    await sandbox.addHousecallProHistory(c.apiKey, 150, new Date(Date.now() + DAY).toISOString());
    await sandbox.scheduleHcpJob(c.externalIds[0]);
    await t.db.query(`UPDATE connections SET poll_cursor = NULL WHERE id = $1`, [c.connectionId]);
    let routes = await poll(c);
    // page 1 of the feed names none of the 3 (150 newer jobs fill it): each is read by id (after the by-id path's
    // own look at page 1)
    expect(routes).toEqual({ 'GET /jobs': 2, 'GET /jobs/{id}': 3 });
    expect(await providerStatus(c.routingIds[0])).toBe('scheduled');

    // 450 jobs newer than the referrals and a mark older than all of them: the scan stops after 3 pages (what the 3
    // routings cost by id) without reaching the mark or the referrals, so they are read by id.
    await syncedLongAgo(c.routingIds);
    await sandbox.addHousecallProHistory(c.apiKey, 300, new Date(Date.now() + 2 * DAY).toISOString());
    await t.db.query(`UPDATE connections SET poll_cursor = $2 WHERE id = $1`, [
      c.connectionId,
      { position: new Date(Date.now() - 40 * DAY).toISOString(), takenAt: new Date().toISOString() },
    ]);
    await sandbox.startHcpJob(c.externalIds[1]);
    routes = await poll(c);
    expect(routes).toEqual({ 'GET /jobs': 3 + 1, 'GET /jobs/{id}': 3 });
    expect(await providerStatus(c.routingIds[1])).toBe('in_progress');
  });
});
