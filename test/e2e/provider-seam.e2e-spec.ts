import { registerProvider } from '../../src/providers/provider-catalog';
import { useContractDocument } from '../contract/contract-recorder';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { waitFor } from '../helpers/wait';
import { acme } from '../providers/acme';
import { AcmeServer } from '../providers/acme/acme.server';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

// The whole registration of a provider that lives outside src/: the proof that a provider is one folder.
registerProvider(acme);

describe('Provider seam - a provider defined only in test/ syncs and polls end to end', () => {
  const server = new AcmeServer(new Set(['acme-token-1']));
  let t: TestApp;
  let admin: ApiClient;

  beforeAll(async () => {
    await server.start();
    await flushTestRedis();
    t = await startTestApp({
      ...FAST_SYNC_ENV,
      ACME_API_URL: server.url,
      RATE_LIMITS: JSON.stringify({ acme: { perMinute: 5000 } }),
    });
    await truncateAll(t.db);
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    // The contract this app publishes includes the provider registered above; other test files' apps do not.
    useContractDocument((await admin.get('/api/docs-json')).body);
  });
  afterAll(async () => {
    // Other test files' apps do not know this provider: leave none of its rows behind.
    await truncateAll(t.db);
    await t.close();
    await server.stop();
  });

  it('takes its credentials, syncs a referral as a lead, and polls it to completed with revenue', async () => {
    expectProblem(
      await admin.post('/api/companies', { name: 'x', provider: { type: 'acme', credentials: { apiToken: '' } } }),
      400,
      'provider.credentials.apiToken',
    );
    const { referrer, technician, targets } = await createNetwork(admin, 1, {
      provider: { type: 'acme', credentials: { apiToken: 'acme-token-1' } },
    });
    const job = await admin.post(
      '/api/jobs',
      jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
    );
    expect(job.status).toBe(201);
    const routingId = job.body.routings[0].id as string;
    expect(job.body.routings[0].providerType).toBe('acme');

    const synced = await waitFor(
      async () => {
        const r = (await admin.get(`/api/routings/${routingId}`)).body;
        return r.status === 'synced' ? r : null;
      },
      { what: 'the acme routing to sync' },
    );
    expect(server.leads).toEqual([expect.objectContaining({ id: synced.externalId, reference: routingId })]);
    // A first attempt cannot have created anything before: no lookup, one create.
    expect(server.calls.map((c) => `${c.method} ${c.path.split('?')[0]}`)).toEqual(['POST /leads']);

    server.finish(routingId, 98_765);
    await admin.post('/api/admin/sweeps/poll/run');
    const completed = await waitFor(
      async () => {
        const r = (await admin.get(`/api/routings/${routingId}`)).body;
        return r.status === 'completed' ? r : null;
      },
      { what: 'the acme routing to complete' },
    );
    expect(completed).toMatchObject({ providerStatus: 'completed', providerStatusRaw: 'done', revenueCents: 98_765 });
    expect((await admin.get(`/api/jobs/${job.body.id}`)).body).toMatchObject({
      status: 'completed',
      revenueCents: 98_765,
    });
    expect(server.calls.every((c) => c.token === 'acme-token-1')).toBe(true);
  });

  it('is part of the API contract: the OpenAPI document, the routing filter and RATE_LIMITS know it', async () => {
    const doc = (await admin.get('/api/docs-json')).body;
    expect(doc.components.schemas.ProviderConfigDto.discriminator.mapping.acme).toBe(
      '#/components/schemas/AcmeFSMProviderConfig',
    );
    expect(doc.components.schemas.AcmeFSMProviderConfig.properties.credentials).toMatchObject({
      type: 'object',
      required: ['apiToken'],
    });
    expect(doc.components.schemas.RoutingResponse.properties.providerType.enum).toContain('acme');
    expect((await admin.get('/api/routings?providerType=acme')).status).toBe(200);
    expect(t.config.rateLimitFor('acme')).toEqual({ perMinute: 5000, perHour: 10000, burst: 50 });
  });
});
