import { readFileSync } from 'node:fs';

import { createOpenApiDocument } from '../../src/app.factory';
import { recordResponse } from '../contract/contract-recorder';
import { DOCUMENT_FILE, ObservedResponse, OpenApiContract } from '../contract/openapi-contract';
import { readmeFlow } from '../contract/readme-flow';
import { createNetwork, jobBody } from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp, truncateAll } from '../helpers/app';
import { ApiClient, apiClient } from '../helpers/http';
import { FAST_SYNC_ENV, TEST_ADMIN_KEY } from '../test-env';

describe('The API contract (OpenAPI document, contract checker, a generated client)', () => {
  let t: TestApp;
  let admin: ApiClient;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp(FAST_SYNC_ENV, 'all');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
  });
  afterAll(() => t.close());

  describe('GET /api/docs-json', () => {
    it('serves the document npm run lint:api lints and the contract tests check against', async () => {
      const served = (await admin.get('/api/docs-json')).body;
      expect(served).toEqual(await createOpenApiDocument(t.config));
      expect(served).toEqual(JSON.parse(readFileSync(DOCUMENT_FILE, 'utf8')));
      expect(served.openapi).toBe('3.1.0');
    });

    it('lists the configured trade taxonomy', async () => {
      const custom = await startTestApp({ TRADES: 'plumbing,chimney_sweep' }, 'api');
      try {
        const doc = (await apiClient(custom.url).get('/api/docs-json')).body;
        expect(doc.components.schemas.Trade.enum).toEqual(['plumbing', 'chimney_sweep']);
        const res = await apiClient(custom.url, TEST_ADMIN_KEY).post('/api/companies', {
          name: 'Sweep Co',
          trades: ['Chimney_Sweep', 'electrical'],
        });
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([
          { field: 'trades', message: 'each value must be one of the trades: plumbing, chimney_sweep' },
        ]);
      } finally {
        await custom.close();
      }
    });
  });

  describe('the contract checker', () => {
    const contract = OpenApiContract.load();
    let job: ObservedResponse;

    beforeAll(async () => {
      const { referrer, technician, targets } = await createNetwork(admin, 1);
      const res = await admin.post(
        '/api/jobs',
        jobBody(referrer.id, technician.id, { targetCompanyIds: [targets[0].id] }),
      );
      job = { method: 'GET', path: `/api/jobs/${res.body.id}`, status: 200, headers: res.headers, body: res.body };
    });

    const withBody = (change: (body: any) => void): ObservedResponse => {
      const body = structuredClone(job.body) as any;
      change(body);
      return { ...job, body };
    };
    const headers = (change: (h: Headers) => void): ObservedResponse => {
      const h = new Headers(job.headers);
      change(h);
      return { ...job, headers: h };
    };

    it('passes a real response, with its nulls', () => {
      expect((job.body as any).routings[0]).toMatchObject({ providerStatus: null, externalId: null });
      expect(contract.check(job)).toEqual({ matched: 'GET /api/jobs/{id} 200', violations: [] });
    });

    it.each<[string, ObservedResponse | (() => ObservedResponse), RegExp]>([
      [
        'an undeclared field',
        () => withBody((b) => (b.internal = 1)),
        /must NOT have additional properties \(internal\)/,
      ],
      ['an undeclared nested field', () => withBody((b) => (b.routings[0].claimToken = 'x')), /\(claimToken\)/],
      ['a fraction where an integer is declared', () => withBody((b) => (b.routings[0].attempts = 1.5)), /integer/],
      ['null where it is not nullable', () => withBody((b) => (b.status = null)), /\/status must be string/],
      ['a value outside an enum', () => withBody((b) => (b.unroutedReason = 'bad_luck')), /allowed values/],
      ['a required field missing', () => withBody((b) => delete b.currency), /required property 'currency'/],
      ['a malformed uuid', () => withBody((b) => (b.id = 'nope')), /must match format "uuid"/],
      ['no X-Request-Id', () => headers((h) => h.delete('x-request-id')), /X-Request-Id is required/],
      ['an undeclared Retry-After', () => headers((h) => h.set('retry-after', '3')), /retry-after was sent/],
      ['an undocumented status', () => ({ ...job, status: 418 }), /status is not documented/],
      ['another media type', () => headers((h) => h.set('content-type', 'text/html')), /content type text\/html/],
      ['a route outside the document', () => ({ ...job, path: '/api/nothing', status: 200 }), /not in the document/],
    ])('fails %s', (_, make, violation) => {
      const { violations } = contract.check(typeof make === 'function' ? make() : make);
      expect(violations).toContainEqual(expect.stringMatching(violation));
    });

    it('checks a problem document as strictly', async () => {
      const res = await admin.get('/api/jobs/00000000-0000-4000-8000-000000000000');
      const observed = { method: 'GET', path: '/api/jobs/x', status: 404, headers: res.headers, body: res.body };
      expect(contract.check(observed).violations).toEqual([]);
      expect(contract.check({ ...observed, body: { ...res.body, stack: 'at x' } }).violations).toEqual([
        expect.stringMatching(/\(stack\)/),
      ]);
    });
  });

  describe('the README flow, typed with openapi-typescript and sent with openapi-fetch', () => {
    it('compiles (npm run typecheck) and runs against the app', async () => {
      await truncateAll(t.db); // the referral goes to every electrician serving 78701: only the flow's own
      // Its responses are checked against the document like every other.
      const recordingFetch = async (request: Request): Promise<Response> => {
        const response = await fetch(request);
        const text = await response.clone().text();
        const url = new URL(request.url);
        recordResponse(t.url, {
          method: request.method,
          path: url.pathname + url.search,
          status: response.status,
          headers: response.headers,
          body: (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text,
        });
        return response;
      };
      const result = await readmeFlow(t.url, TEST_ADMIN_KEY, { fetch: recordingFetch });

      expect(result.job).toMatchObject({ status: 'open', trade: 'electrical', unroutedReason: null });
      expect(result.job.routings.map((r) => r.companyId)).toEqual([result.electrician.id]);
      expect(result.replayed).toBe(true);
      expect(result.openJobs.map((j) => j.id)).toContain(result.job.id);
      expect(result.synced).toMatchObject({ status: 'synced', providerStatus: 'received' });
      expect(result.synced.events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['created', 'sync_attempt', 'status_change']),
      );
      expect(result.retryOfSynced).toMatchObject({ status: 409 });
      expect(result.ownCompany.id).toBe(result.plumber.id);
      expect(result.ownTechnicians.map((x) => x.id)).toEqual([result.technician.id]);
      expect(result.otherCompany).toMatchObject({ status: 404 });
      expect(result.typo).toMatchObject({ status: 400, errors: [{ field: 'trade' }] });
    });
  });
});
