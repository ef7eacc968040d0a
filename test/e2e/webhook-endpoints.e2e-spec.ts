import { randomUUID } from 'node:crypto';

import { Webhook } from 'standardwebhooks';

import { SandboxControl } from '../../src/sandbox/sandbox-control.client';
import { CleanupService } from '../../src/cleanup/cleanup.service';
import { CredentialsCipher } from '../../src/connections/credentials-cipher';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher';
import { createNetwork, housecallProCredentials, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { WebhookReceiver } from '../helpers/webhook-receiver';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

// Short delays and timeout so retries happen within the test; the schedule itself comes from the variable.
const WEBHOOK_ENV = {
  WEBHOOK_RETRY_DELAYS_MS: '300,300,300',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_SWEEP_CRON: '0 0 1 1 *',
};

describe('Outbound webhooks - /api/webhook-endpoints', () => {
  let t: TestApp;
  let admin: ApiClient;
  let sandbox: SandboxControl;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ ...FAST_SYNC_ENV, ...WEBHOOK_ENV }, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    sandbox = new SandboxControl(t.sandbox.url);
    receiver = await WebhookReceiver.start();
  });
  afterEach(async () => {
    // Each test has its own endpoints: none of them receives the next test's events.
    await t.db.query(`DELETE FROM webhook_endpoints`);
    receiver.answer = () => ({ status: 204 });
    receiver.clear();
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  async function endpoint(body: Record<string, unknown> = {}, client = admin) {
    const res = await client.post('/api/webhook-endpoints', { url: receiver.url(), ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; url: string; companyId: string | null };
  }

  async function referral(overrides: Record<string, unknown> = {}) {
    const network = await createNetwork(admin, 1, overrides);
    const res = await admin.post(
      '/api/jobs',
      jobBody(network.referrer.id, network.technician.id, { targetCompanyIds: [network.targets[0].id] }),
    );
    expect(res.status).toBe(201);
    return { ...network, job: res.body, routingId: res.body.routings[0].id as string };
  }

  const routing = async (id: string) => (await admin.get(`/api/routings/${id}`)).body;
  const synced = (id: string) =>
    waitFor(async () => ((await routing(id)).status === 'synced' ? routing(id) : null), { what: `${id} synced` });
  const attempts = async (endpointId: string, query = '') =>
    (await admin.get(`/api/webhook-endpoints/${endpointId}/deliveries${query}`)).body.items as any[];
  /** The endpoint's delivery log once it has `count` attempts (newest first). */
  const logOf = async (endpointId: string, count: number, query = ''): Promise<any[]> =>
    (await waitFor(
      async () => {
        const items = await attempts(endpointId, query);
        return items.length === count ? items : null;
      },
      { what: `${count} attempts` },
    ))!;

  it('signs each event as Standard Webhooks does: verified by the reference implementation', async () => {
    const ep = await endpoint();
    expect(ep.secret).toMatch(/^whsec_/);
    expect(Buffer.from(ep.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    const { routingId } = await referral();
    await receiver.waitFor((r) => r.some((w) => w.json?.data?.id === routingId), 15_000, 'routing.synced');
    const [hook] = receiver.received.filter((w) => w.json.data.id === routingId);

    expect(new Webhook(ep.secret).verify(hook.body, hook.headers)).toEqual(hook.json);
    expect(Math.abs(Number(hook.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(hook.headers['content-type']).toBe('application/json');
    // The body is the routing as GET /api/routings/:id shows it (without its timeline).
    const { events, ...shown } = await routing(routingId);
    expect(events.length).toBeGreaterThan(0);
    expect(hook.json).toEqual({ type: 'routing.synced', timestamp: expect.any(String), data: shown });
    expect(new Date(hook.json.timestamp).toISOString()).toBe(hook.json.timestamp);
  });

  it('never returns the secret again, and stores it encrypted', async () => {
    const ep = await endpoint({ description: 'ops' });
    const read = await admin.get(`/api/webhook-endpoints/${ep.id}`);
    expect(read.body).toEqual({
      id: ep.id,
      url: receiver.url(),
      events: [],
      description: 'ops',
      status: 'enabled',
      statusReason: null,
      companyId: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify((await admin.get('/api/webhook-endpoints')).body)).not.toContain(ep.secret);
    const [row] = await t.db.query(`SELECT secret FROM webhook_endpoints WHERE id = $1`, [ep.id]);
    expect(row.secret).not.toContain(ep.secret.slice(6));
    expect(new CredentialsCipher(t.config).decrypt(row.secret)).toBe(ep.secret);
  });

  it('follows a routing to completion: status_changed, completed, and the job completed', async () => {
    const ep = await endpoint();
    const { routingId, job } = await referral();
    const { externalId } = await synced(routingId);
    await sandbox.completeBooking(externalId, 42_000);
    expect((await admin.post('/api/admin/sweeps/poll/run')).status).toBe(202);
    await receiver.waitFor((r) => r.some((w) => w.json?.type === 'job.completed'), 15_000, 'job.completed');
    await receiver.waitFor((r) => r.length >= 4, 5000, 'four events');

    const types = receiver.received.map((w) => w.json.type).sort();
    expect(types).toEqual(['job.completed', 'routing.completed', 'routing.status_changed', 'routing.synced']);
    const completed = receiver.ofType('routing.completed')[0].json.data;
    expect(completed).toMatchObject({ id: routingId, status: 'completed', revenueCents: 42_000 });
    const jobEvent = receiver.ofType('job.completed')[0].json.data;
    expect(jobEvent).toEqual((await admin.get(`/api/jobs/${job.id}`)).body);
    expect(jobEvent).toMatchObject({ status: 'completed', revenueCents: 42_000 });
    // One event id per event; every one verified.
    expect(new Set(receiver.received.map((w) => w.id)).size).toBe(4);
    for (const w of receiver.received) expect(() => new Webhook(ep.secret).verify(w.body, w.headers)).not.toThrow();
  });

  it('delivers only the event types an endpoint subscribed to', async () => {
    await endpoint({ events: ['routing.canceled'] });
    await endpoint({ url: receiver.url('/all') });
    const { routingId } = await referral({
      provider: { type: 'housecallpro', credentials: housecallProCredentials() },
    });
    const { externalId } = await synced(routingId);
    await sandbox.cancelHcpJob(externalId);
    await admin.post('/api/admin/sweeps/poll/run');
    await receiver.waitFor((r) => r.filter((w) => w.path === '/all').length === 4, 15_000, 'every event');
    await receiver.waitFor((r) => r.some((w) => w.path === '/hooks'), 5000);
    expect(receiver.received.filter((w) => w.path === '/hooks').map((w) => w.json.type)).toEqual(['routing.canceled']);
    expect(
      receiver.received
        .filter((w) => w.path === '/all')
        .map((w) => w.json.type)
        .sort(),
    ).toEqual(['job.canceled', 'routing.canceled', 'routing.status_changed', 'routing.synced']);
  });

  it('retries a failing receiver on the schedule: the third attempt delivers, with the same webhook-id', async () => {
    receiver.answer = (w) => ({ status: w.nth < 2 ? 503 : 200 });
    const ep = await endpoint();
    const { routingId } = await referral();
    await receiver.waitFor((r) => r.length >= 3, 15_000, 'three attempts');
    const hooks = receiver.received.filter((w) => w.json.data.id === routingId);
    expect(hooks.map((w) => w.nth)).toEqual([0, 1, 2]);
    expect(new Set(hooks.map((w) => w.id)).size).toBe(1);
    expect(new Set(hooks.map((w) => w.body)).size).toBe(1);
    // Each attempt is signed afresh (its own timestamp) and verifies.
    for (const w of hooks) expect(() => new Webhook(ep.secret).verify(w.body, w.headers)).not.toThrow();
    expect(hooks[1].at - hooks[0].at).toBeGreaterThanOrEqual(250);

    const log = await logOf(ep.id, 3);
    expect(log.map((a) => [a.attempt, a.outcome, a.httpStatus])).toEqual([
      [3, 'success', 200],
      [2, 'http_error', 503],
      [1, 'http_error', 503],
    ]);
    expect(log[0]).toMatchObject({
      eventId: hooks[0].id,
      eventType: 'routing.synced',
      nextAttemptAt: null,
      error: null,
    });
    expect(log[2].error).toBe('HTTP 503');
    expect(new Date(log[2].nextAttemptAt).getTime()).toBeGreaterThan(new Date(log[2].createdAt).getTime());
    expect(new Set(log.map((a) => a.deliveryId)).size).toBe(1);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="http_error"\} [1-9]/m);
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="success"\} [1-9]/m);
  });

  it('gives up after the last delay: the delivery fails after 1 + 3 attempts', async () => {
    receiver.answer = () => ({ status: 500 });
    const ep = await endpoint();
    await referral();
    const log = await logOf(ep.id, 4);
    await new Promise((r) => setTimeout(r, 800));
    expect(await attempts(ep.id)).toHaveLength(4);
    expect(log[0]).toMatchObject({ attempt: 4, outcome: 'http_error', nextAttemptAt: null });
    const [delivery] = await t.db.query(`SELECT status, attempts FROM webhook_deliveries WHERE endpoint_id = $1`, [
      ep.id,
    ]);
    expect(delivery).toEqual({ status: 'failed', attempts: 4 });
  });

  it('counts no answer within WEBHOOK_TIMEOUT_MS as a failure, then retries', async () => {
    receiver.answer = (w) => (w.nth === 0 ? { hang: true } : { status: 200 });
    const ep = await endpoint();
    await referral();
    const log = await logOf(ep.id, 2);
    expect(log[1]).toMatchObject({
      attempt: 1,
      outcome: 'timeout',
      httpStatus: null,
      error: 'no answer within 1000 ms',
    });
    expect(log[1].durationMs).toBeGreaterThanOrEqual(1000);
    expect(log[0]).toMatchObject({ attempt: 2, outcome: 'success' });
  });

  it('follows no redirect: a 3xx is a failed attempt', async () => {
    receiver.answer = (w) => ({ status: w.nth === 0 ? 301 : 200 });
    const ep = await endpoint();
    await referral();
    const log = await logOf(ep.id, 2);
    expect(log[1]).toMatchObject({ outcome: 'http_error', httpStatus: 301, error: 'redirect (HTTP 301) not followed' });
  });

  it('410 disables the endpoint: nothing more is sent, what waited is canceled', async () => {
    receiver.answer = () => ({ status: 410 });
    const ep = await endpoint();
    const first = await referral();
    await receiver.waitFor((r) => r.length === 1, 15_000);
    const disabled = await waitFor(async () => {
      const e = (await admin.get(`/api/webhook-endpoints/${ep.id}`)).body;
      return e.status === 'disabled' ? e : null;
    });
    expect(disabled.statusReason).toBe('the receiver answered 410 Gone');
    expect((await attempts(ep.id))[0]).toMatchObject({ outcome: 'gone', httpStatus: 410, nextAttemptAt: null });

    const second = await referral();
    await synced(second.routingId);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0].json.data.id).toBe(first.routingId);
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
      [ep.id],
    );
    expect(n).toBe(0);

    // Enabled again, it receives new events.
    receiver.answer = () => ({ status: 200 });
    expect((await admin.patch(`/api/webhook-endpoints/${ep.id}`, { status: 'enabled' })).body).toMatchObject({
      status: 'enabled',
      statusReason: null,
    });
    const third = await referral();
    await receiver.waitFor((r) => r.some((w) => w.json.data.id === third.routingId), 15_000);
  });

  it('redelivers a delivered event now, with the same webhook-id, as a new attempt in the log', async () => {
    const ep = await endpoint();
    await referral();
    await receiver.waitFor((r) => r.length === 1, 15_000);
    const [first] = await logOf(ep.id, 1);
    const res = await admin.post(`/api/webhook-endpoints/${ep.id}/deliveries/${first.deliveryId}/redeliver`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      deliveryId: first.deliveryId,
      eventId: first.eventId,
      status: 'pending',
      nextAttemptAt: expect.any(String),
    });
    await receiver.waitFor((r) => r.length === 2, 10_000, 'the redelivery');
    expect(receiver.received[1].id).toBe(receiver.received[0].id);
    expect(receiver.received[1].body).toBe(receiver.received[0].body);
    expect(() => new Webhook(ep.secret).verify(receiver.received[1].body, receiver.received[1].headers)).not.toThrow();
    const log = await logOf(ep.id, 2, `?eventId=${first.eventId}`);
    expect(log.map((a) => a.attempt)).toEqual([2, 1]);

    // Unknown delivery, another endpoint's delivery, a disabled endpoint.
    expectProblem(await admin.post(`/api/webhook-endpoints/${ep.id}/deliveries/${randomUUID()}/redeliver`), 404);
    const other = await endpoint({ url: receiver.url('/other') });
    expectProblem(await admin.post(`/api/webhook-endpoints/${other.id}/deliveries/${first.deliveryId}/redeliver`), 404);
    await admin.patch(`/api/webhook-endpoints/${ep.id}`, { status: 'disabled' });
    expectProblem(await admin.post(`/api/webhook-endpoints/${ep.id}/deliveries/${first.deliveryId}/redeliver`), 409);
    expectProblem(await admin.post(`/api/webhook-endpoints/${ep.id}/deliveries/not-a-uuid/redeliver`), 400);
  });

  it('redelivers a delivery waiting for a later retry at once', async () => {
    const ep = await endpoint();
    // A delivery whose first attempt failed and whose retry is queued for ten minutes from now.
    const eventId = randomUUID();
    const body = JSON.stringify({ type: 'job.completed', timestamp: new Date().toISOString(), data: { id: 'y' } });
    await t.db.query(
      `INSERT INTO webhook_events (id, type, company_id, job_id, body) VALUES ($1, 'job.completed', $2, $3, $4)`,
      [eventId, randomUUID(), randomUUID(), body],
    );
    const [{ id: deliveryId }] = await t.db.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, failures, next_attempt_at)
       VALUES ($1, $2, 'pending', 1, 1, now() + interval '10 minutes') RETURNING id`,
      [eventId, ep.id],
    );
    await t.app.get(WebhookDispatcher).enqueue([{ deliveryId, attempt: 2, delayMs: 600_000 }]);
    expect((await admin.post(`/api/webhook-endpoints/${ep.id}/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    await receiver.waitFor((r) => r.some((w) => w.id === eventId), 10_000, 'the redelivery');
    const [attempt] = await logOf(ep.id, 1);
    expect(attempt).toMatchObject({ deliveryId, attempt: 2, outcome: 'success' });
  });

  it('company keys: own endpoints only, and only what the company may read', async () => {
    const { referrer, technician, targets } = await createNetwork(admin, 2);
    const keyOf = async (companyId: string) =>
      (await admin.post('/api/api-keys', { name: `key ${companyId}`, role: 'company', companyId })).body.key as string;
    const referrerKey = apiClient(t.url, await keyOf(referrer.id));
    const targetKey = apiClient(t.url, await keyOf(targets[0].id));

    const referrerEp = await endpoint({ url: receiver.url('/referrer') }, referrerKey);
    const targetEp = await endpoint({ url: receiver.url('/target') }, targetKey);
    const adminEp = await endpoint({ url: receiver.url('/admin') });
    expect(referrerEp.companyId).toBe(referrer.id);
    expect(targetEp.companyId).toBe(targets[0].id);
    expect(adminEp.companyId).toBeNull();

    // Each key sees its own endpoint only; another's id is 404.
    expect((await targetKey.get('/api/webhook-endpoints')).body.items.map((e: any) => e.id)).toEqual([targetEp.id]);
    expectProblem(await targetKey.get(`/api/webhook-endpoints/${referrerEp.id}`), 404);
    expectProblem(await targetKey.get(`/api/webhook-endpoints/${adminEp.id}/deliveries`), 404);
    expectProblem(await targetKey.patch(`/api/webhook-endpoints/${adminEp.id}`, { status: 'disabled' }), 404);
    expectProblem(await targetKey.delete(`/api/webhook-endpoints/${referrerEp.id}`), 404);
    expect((await admin.get('/api/webhook-endpoints')).body.items).toHaveLength(3);

    // One job routed to both targets; then the one addressed to the target company completes.
    const job = (
      await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id, targets[1].id] }),
      )
    ).body;
    const mine = job.routings.find((r: any) => r.companyId === targets[0].id).id;
    const { externalId } = await synced(mine);
    await sandbox.completeBooking(externalId, 1000);
    await admin.post('/api/admin/sweeps/poll/run');
    await receiver.waitFor((r) => r.some((w) => w.path === '/referrer' && w.json.type === 'job.completed'), 15_000);
    await receiver.waitFor((r) => r.filter((w) => w.path === '/admin').length >= 5, 10_000, 'admin events');
    await receiver.waitFor((r) => r.filter((w) => w.path === '/target').length >= 3, 10_000, 'target events');

    const seen = (path: string) =>
      receiver.received
        .filter((w) => w.path === path)
        .map((w) => `${w.json.type} ${w.json.data.id === job.id ? 'job' : w.json.data.id === mine ? 'mine' : 'other'}`)
        .sort();
    // The referrer created the job: job events, no routing events (routings are addressed to others).
    expect(seen('/referrer')).toEqual(['job.completed job']);
    // The target company: its own routing's events only.
    expect(seen('/target')).toEqual(['routing.completed mine', 'routing.status_changed mine', 'routing.synced mine']);
    // Admin: everything.
    expect(seen('/admin')).toEqual([
      'job.completed job',
      'routing.completed mine',
      'routing.status_changed mine',
      'routing.synced mine',
      'routing.synced other',
    ]);
    expect((await targetKey.get(`/api/webhook-endpoints/${targetEp.id}/deliveries`)).body.items).toHaveLength(3);
  });

  it('updates url, events and description, and deletes', async () => {
    const ep = await endpoint({ events: ['job.completed'] });
    const res = await admin.patch(`/api/webhook-endpoints/${ep.id}`, {
      url: receiver.url('/moved'),
      events: ['routing.synced', 'routing.synced'],
      description: 'moved',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ url: receiver.url('/moved'), events: ['routing.synced'], description: 'moved' });
    const { routingId } = await referral();
    await receiver.waitFor((r) => r.some((w) => w.path === '/moved' && w.json.data.id === routingId), 15_000);
    expect((await admin.delete(`/api/webhook-endpoints/${ep.id}`)).status).toBe(204);
    expectProblem(await admin.get(`/api/webhook-endpoints/${ep.id}`), 404);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries`))[0].n).toBe(0);
  });

  it('records created, updated and deleted in the audit trail, the secret redacted; a 410 as the system', async () => {
    const ep = await endpoint({ events: ['job.completed'] }, apiClient(t.url, TEST_ADMIN_KEY));
    await admin.patch(`/api/webhook-endpoints/${ep.id}`, { events: ['routing.synced'], description: 'v2' });
    await admin.delete(`/api/webhook-endpoints/${ep.id}`);
    const events = (await admin.get(`/api/audit-events?resourceType=webhook_endpoint&resourceId=${ep.id}`)).body.items;
    expect(events.map((e: any) => e.action).sort()).toEqual([
      'webhook_endpoint.created',
      'webhook_endpoint.deleted',
      'webhook_endpoint.updated',
    ]);
    const byAction = (action: string) => events.find((e: any) => e.action === action);
    expect(byAction('webhook_endpoint.created')).toMatchObject({
      actor: { role: 'admin' },
      changes: { url: { old: null, new: receiver.url() }, secret: { old: null, new: '[redacted]' } },
    });
    expect(byAction('webhook_endpoint.updated').changes).toEqual({
      events: { old: ['job.completed'], new: ['routing.synced'] },
      description: { old: null, new: 'v2' },
    });
    expect(byAction('webhook_endpoint.deleted').changes.url).toEqual({ old: receiver.url(), new: null });
    expect(JSON.stringify(events)).not.toContain(ep.secret.slice(6));

    receiver.answer = () => ({ status: 410 });
    const gone = await endpoint();
    await referral();
    const [disabled] = await waitFor(async () => {
      const items = (
        await admin.get(
          `/api/audit-events?resourceType=webhook_endpoint&resourceId=${gone.id}&action=webhook_endpoint.updated`,
        )
      ).body.items;
      return items.length ? items : null;
    }).then((items) => items!);
    expect(disabled).toMatchObject({
      actor: { role: 'system', apiKeyId: null },
      changes: { status: { old: 'enabled', new: 'disabled' } },
    });
  });

  it('refuses bad input with 400 naming the field', async () => {
    const post = (body: unknown) => admin.post('/api/webhook-endpoints', body);
    expectProblem(await post({}), 400, 'url');
    expectProblem(await post({ url: 'not a url' }), 400, 'url');
    expectProblem(await post({ url: 'ftp://example.com/x' }), 400, 'url');
    expectProblem(await post({ url: 'https://user:pw@example.com/x' }), 400, 'url');
    expectProblem(await post({ url: receiver.url(), events: ['routing.exploded'] }), 400, 'events');
    expectProblem(await post({ url: receiver.url(), events: 'routing.synced' }), 400, 'events');
    expectProblem(await post({ url: receiver.url(), secret: 'whsec_mine' }), 400, 'secret');
    const ep = await endpoint();
    expectProblem(await admin.patch(`/api/webhook-endpoints/${ep.id}`, { status: 'paused' }), 400, 'status');
    expectProblem(await admin.patch(`/api/webhook-endpoints/${ep.id}`, { url: null }), 400, 'url');
    expectProblem(await admin.get(`/api/webhook-endpoints/${ep.id}/deliveries?eventId=nope`), 400, 'eventId');
    expectProblem(await admin.get(`/api/webhook-endpoints/${randomUUID()}`), 404);
    expectProblem(
      await admin.post('/api/webhook-endpoints', undefined, {
        rawBody: 'url=x',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
    );
  });

  it('the webhooks sweep delivers outbox rows that never got their queue job', async () => {
    const ep = await endpoint();
    // A committed event and delivery whose queueing was lost (the process died right after the commit).
    const eventId = randomUUID();
    const body = JSON.stringify({ type: 'job.canceled', timestamp: new Date().toISOString(), data: { id: 'x' } });
    await t.db.query(
      `INSERT INTO webhook_events (id, type, company_id, job_id, body) VALUES ($1, 'job.canceled', $2, $3, $4)`,
      [eventId, randomUUID(), randomUUID(), body],
    );
    await t.db.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at)
       VALUES ($1, $2, 'pending', now() - interval '2 minutes')`,
      [eventId, ep.id],
    );
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^webhook_outbox_pending [1-9]/m);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.of(eventId)).toHaveLength(0);
    expect((await admin.post('/api/admin/sweeps/webhooks/run')).status).toBe(202);
    await receiver.waitFor((r) => r.some((w) => w.id === eventId), 10_000, 'the swept delivery');
    expect(receiver.of(eventId)[0].body).toBe(body);
    expect(() => new Webhook(ep.secret).verify(body, receiver.of(eventId)[0].headers)).not.toThrow();
  });

  it('cleanup drops finished events past ARCHIVE_AFTER_DAYS, keeps those still being delivered', async () => {
    const ep = await endpoint();
    const insert = async (ageDays: number, status: string) => {
      const [{ id }] = await t.db.query(
        `INSERT INTO webhook_events (id, type, company_id, job_id, body, created_at)
         VALUES (gen_random_uuid(), 'job.completed', gen_random_uuid(), gen_random_uuid(), '{}', now() - $1 * interval '1 day')
         RETURNING id`,
        [ageDays],
      );
      await t.db.query(
        `INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at)
         VALUES ($1, $2, $3, CASE WHEN $3 = 'pending' THEN now() + interval '1 hour' END)`,
        [id, ep.id, status],
      );
      return id as string;
    };
    const old = [await insert(91, 'succeeded'), await insert(120, 'failed')];
    const kept = [await insert(91, 'pending'), await insert(10, 'succeeded')];
    expect(await t.app.get(CleanupService).expireWebhookEvents()).toBe(2);
    const left = (await t.db.query(`SELECT id FROM webhook_events`)).map((r: { id: string }) => r.id);
    expect(left).toEqual(expect.arrayContaining(kept));
    expect(left.filter((id: string) => old.includes(id))).toEqual([]);
  });

  it('writes no outbox rows when no endpoint wants the event', async () => {
    await endpoint({ events: ['job.canceled'] });
    const { routingId } = await referral();
    await synced(routingId);
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE routing_id = $1`, [
      routingId,
    ]);
    expect(n).toBe(0);
  });
});

describe('Outbound webhooks - private addresses refused (WEBHOOK_ALLOW_PRIVATE_URLS=false)', () => {
  let t: TestApp;
  let admin: ApiClient;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await startTestApp({ ...FAST_SYNC_ENV, ...WEBHOOK_ENV, WEBHOOK_ALLOW_PRIVATE_URLS: 'false' }, 'all');
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await t.db.query(`DELETE FROM webhook_endpoints`);
    await receiver.close();
    await t.close();
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://10.1.2.3/hook',
    'http://172.20.0.1/hook',
    'http://192.168.1.10/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd00::1]/hook',
    'http://0.0.0.0/hook',
  ])('refuses %s with 400', async (url) => {
    const res = await admin.post('/api/webhook-endpoints', { url });
    expect(expectProblem(res, 400, 'url').errors[0].message).toBe(
      'must not point to a loopback, private or reserved address',
    );
  });

  it('refuses a host that does not resolve', async () => {
    const res = await admin.post('/api/webhook-endpoints', { url: 'http://unresolvable.invalid/x' });
    expect(expectProblem(res, 400, 'url').errors[0].message).toBe('host could not be resolved');
  });

  it('checks the address again at delivery time: a name that now resolves inside is refused', async () => {
    // Saved while it pointed outside; `localhost` stands in for a name whose DNS answer changed since (rebinding).
    const secret = new CredentialsCipher(t.config).encrypt('whsec_' + Buffer.alloc(32, 1).toString('base64'));
    const [{ id }] = await t.db.query(
      `INSERT INTO webhook_endpoints (url, status, secret) VALUES ($1, 'enabled', $2) RETURNING id`,
      [`http://localhost:${receiver.port}/hook`, secret],
    );
    const literal = await t.db.query(
      `INSERT INTO webhook_endpoints (url, status, secret) VALUES ($1, 'enabled', $2) RETURNING id`,
      [receiver.url(), secret],
    );
    const network = await createNetwork(admin, 1);
    await admin.post(
      '/api/jobs',
      jobBody(network.referrer.id, network.technician.id, { targetCompanyIds: [network.targets[0].id] }),
    );
    for (const endpointId of [id, literal[0].id]) {
      const [attempt] = await waitFor(async () => {
        const items = (await admin.get(`/api/webhook-endpoints/${endpointId}/deliveries`)).body.items;
        return items.length ? items : null;
      });
      expect(attempt).toMatchObject({ outcome: 'refused', httpStatus: null });
      expect(attempt.error).toMatch(/loopback, private or reserved/);
    }
    expect(receiver.received).toHaveLength(0);
  });
});
