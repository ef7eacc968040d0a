import { startSandbox, type RunningSandbox } from '../sandbox';
import { SandboxControl } from '../sandbox-control.client';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, decodeId } from './store';

const REDIRECT = 'http://127.0.0.1:9/api/oauth/jobber/callback';
const VERSION = '2022-03-10';

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

describe('sandbox: Jobber', () => {
  let sandbox: RunningSandbox;
  let control: SandboxControl;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    control = new SandboxControl(sandbox.url);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => control.reset());

  async function authorize(params: Record<string, string> = {}): Promise<URL> {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: DEFAULT_CLIENT_ID,
      redirect_uri: REDIRECT,
      state: 'state-123',
      ...params,
    });
    const res = await fetch(`${sandbox.url}/api/oauth/authorize?${q}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location') as string);
  }

  function tokenCall(form: Record<string, string>): Promise<Response> {
    return fetch(`${sandbox.url}/api/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, ...form }),
    });
  }

  async function connect(): Promise<Tokens & { accountId: string }> {
    const code = (await authorize()).searchParams.get('code') as string;
    const res = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()) as {
      account_id: string;
    };
    return { ...tokens, accountId: payload.account_id };
  }

  async function gql(
    accessToken: string,
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(`${sandbox.url}/api/graphql`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${accessToken}`,
        'X-JOBBER-GRAPHQL-VERSION': VERSION,
        'Content-Type': 'application/json',
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: await res.json() };
  }

  const CLIENT_CREATE = `mutation ($input: ClientCreateInput!) {
    clientCreate(input: $input) { client { id name clientProperties(first: 5) { nodes { id } } } userErrors { message path } }
  }`;
  const REQUEST_CREATE = `mutation ($input: RequestCreateInput!) {
    requestCreate(input: $input) { request { id title requestStatus } userErrors { message path } }
  }`;
  const FORM = `{ requestSettings { forms(first: 1) { nodes { id } } } }`;

  async function clientAndRequest(token: string, title = 'Leaking pipe [te-routing-r1]') {
    const client = await gql(token, CLIENT_CREATE, {
      input: {
        firstName: 'Jane',
        lastName: 'Homeowner',
        phones: [{ number: '+1 (512) 555-0100', description: 'MOBILE', primary: true }],
        emails: [{ address: 'jane@example.com', description: 'MAIN', primary: true }],
        properties: [
          { address: { street1: '1 Main St', city: 'Austin', province: 'TX', postalCode: '78701', country: 'US' } },
        ],
      },
    });
    const clientId = client.body.data.clientCreate.client.id as string;
    const formId = (await gql(token, FORM)).body.data.requestSettings.forms.nodes[0].id as string;
    const request = await gql(token, REQUEST_CREATE, { input: { clientId, title, customFormInput: { formId } } });
    return { clientId, formId, request };
  }

  describe('OAuth', () => {
    it('approves at once, redirects with a single-use code and the state, and issues an expiring JWT', async () => {
      const location = await authorize();
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('state')).toBe('state-123');
      const code = location.searchParams.get('code') as string;

      const res = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
      expect(res.status).toBe(200);
      const tokens = (await res.json()) as Tokens;
      expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) });
      const [header, payload] = tokens.access_token
        .split('.')
        .slice(0, 2)
        .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
      expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
      expect(payload.exp as number).toBeGreaterThan(Date.now() / 1000 + 3500);
      expect(decodeId('Account', payload.account_id)).toEqual(expect.any(Number));

      const me = await gql(tokens.access_token, '{ account { id name } }');
      expect(me.body.data.account.id).toBe(payload.account_id);

      // Codes are single use.
      const again = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
      expect(again.status).toBe(400);
      expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    });

    it('refuses a code for another redirect_uri, a bad secret and an unknown app', async () => {
      const code = (await authorize()).searchParams.get('code') as string;
      const other = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: 'http://elsewhere/cb' });
      expect(other.status).toBe(400);
      const badSecret = await tokenCall({ grant_type: 'refresh_token', refresh_token: 'x', client_secret: 'nope' });
      expect(badSecret.status).toBe(401);
      expect(await badSecret.json()).toMatchObject({ error: 'invalid_client' });
      const unknownApp = await fetch(
        `${sandbox.url}/api/oauth/authorize?response_type=code&client_id=nobody&redirect_uri=${REDIRECT}`,
        { redirect: 'manual' },
      );
      expect(unknownApp.status).toBe(400);
    });

    it('redirects with error=access_denied in deny mode, and can authorize into a chosen account', async () => {
      await control.setJobberSettings({ authorize: { approve: false } });
      const denied = await authorize();
      expect(denied.searchParams.get('error')).toBe('access_denied');
      expect(denied.searchParams.get('code')).toBeNull();
      expect(denied.searchParams.get('state')).toBe('state-123');

      const account = await control.createJobberAccount({ name: 'Acme Plumbing' });
      await control.setJobberSettings({ authorize: { approve: true, accountId: account.id } });
      expect((await connect()).accountId).toBe(account.id);
    });

    it('rotates the refresh token on every refresh, rejects a reused one and counts both', async () => {
      const first = await connect();
      const refresh = (token: string) => tokenCall({ grant_type: 'refresh_token', refresh_token: token });
      const r1 = await refresh(first.refresh_token);
      expect(r1.status).toBe(200);
      const second = (await r1.json()) as Tokens;
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);

      const reused = await refresh(first.refresh_token);
      expect(reused.status).toBe(400);
      expect(await reused.json()).toEqual({
        error: 'invalid_grant',
        error_description: 'The provided refresh token is not valid.',
      });
      expect((await refresh(second.refresh_token)).status).toBe(200);

      const account = await control.jobberAccount(first.accountId);
      expect(account).toMatchObject({ refreshes: 2, refreshTokenReuses: 1 });
      expect(account.grants).toHaveLength(1);
      const stats = (await control.stats()).providers.jobber;
      expect(stats.byRoute['POST /api/oauth/token'].byStatus).toEqual({ '200': 3, '400': 1 });
      // The authorize redirect, the code exchange, two refreshes and the reuse.
      expect(stats.byAccount[first.accountId]).toBe(5);
    });

    it('expires access tokens by lifetime and on demand; a disconnect revokes the refresh token', async () => {
      await control.setJobberSettings({ accessTokenTtlSeconds: 1 });
      const tokens = await connect();
      expect((await gql(tokens.access_token, '{ account { id } }')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const expired = await gql(tokens.access_token, '{ account { id } }');
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ error: 'invalid_request', error_description: 'The access token expired' });

      await control.setJobberSettings({ accessTokenTtlSeconds: 3600 });
      const fresh = (await (
        await tokenCall({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
      ).json()) as Tokens;
      expect((await gql(fresh.access_token, '{ account { id } }')).status).toBe(200);
      expect(await control.expireJobberTokens(tokens.accountId)).toEqual({ expired: 1 });
      expect((await gql(fresh.access_token, '{ account { id } }')).status).toBe(401);

      await control.disconnectJobberAccount(tokens.accountId);
      const revoked = await tokenCall({ grant_type: 'refresh_token', refresh_token: fresh.refresh_token });
      expect(revoked.status).toBe(400);
      expect((await control.jobberAccount(tokens.accountId)).invalidRefreshAttempts).toBe(1);
      expect((await gql('not-a-token', '{ account { id } }')).status).toBe(401);
    });
  });

  describe('GraphQL', () => {
    it('requires the version header and JSON', async () => {
      const { access_token } = await connect();
      const noVersion = await fetch(`${sandbox.url}/api/graphql`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: '{ account { id } }' }),
      });
      expect(noVersion.status).toBe(400);
      expect(await noVersion.json()).toMatchObject({
        errors: [{ message: expect.stringMatching(/X-JOBBER-GRAPHQL-VERSION/) }],
      });
      const form = await gql(access_token, '{ account { id } }', undefined, {
        'Content-Type': 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(415);
    });

    it('answers parse and validation errors as graphql-js words them, with HTTP 200', async () => {
      const { access_token } = await connect();
      const syntax = await gql(access_token, '{ clients { nodes { id }');
      expect(syntax.status).toBe(200);
      expect(syntax.body.errors[0].message).toMatch(/^Syntax Error/);
      const invalid = await gql(access_token, '{ clients { nodes { id nope } } request { id } }');
      expect(invalid.status).toBe(200);
      expect(invalid.body.data).toBeUndefined();
      expect(invalid.body.errors.map((e: { message: string }) => e.message)).toEqual([
        'Cannot query field "nope" on type "Client". Did you mean "name" or "notes"?',
        'Field "request" argument "id" of type "EncodedId!" is required, but it was not provided.',
      ]);
      // The 2022 schema requires customFormInput on requestCreate.
      const missing = await gql(
        access_token,
        'mutation { requestCreate(input: { clientId: "x" }) { request { id } } }',
      );
      expect(missing.body.errors[0].message).toBe(
        'Field "RequestCreateInput.customFormInput" of required type "FormSubmissionInput!" was not provided.',
      );
    });

    it('creates clients and requests, finds clients by phone digits and email, and reads requests by alias', async () => {
      const { access_token } = await connect();
      const { clientId, request } = await clientAndRequest(access_token);
      expect(request.body.data.requestCreate).toMatchObject({
        request: { title: 'Leaking pipe [te-routing-r1]', requestStatus: 'new' },
        userErrors: [],
      });
      const requestId = request.body.data.requestCreate.request.id as string;
      expect(Buffer.from(requestId, 'base64').toString()).toMatch(/^gid:\/\/Jobber\/Request\/\d+$/);

      const search = `query ($term: String!) { clients(searchTerm: $term, first: 5) { nodes { id } totalCount } }`;
      for (const term of ['5125550100', '512-555-0100', 'JANE@example.com']) {
        expect((await gql(access_token, search, { term })).body.data.clients).toEqual({
          nodes: [{ id: clientId }],
          totalCount: 1,
        });
      }
      expect((await gql(access_token, search, { term: '5125550199' })).body.data.clients.nodes).toEqual([]);

      const withRequests = await gql(
        access_token,
        `query ($id: EncodedId!) { client(id: $id) { requests(first: 20) { nodes { id title } pageInfo { hasNextPage } } } }`,
        { id: clientId },
      );
      expect(withRequests.body.data.client.requests.nodes).toEqual([
        { id: requestId, title: 'Leaking pipe [te-routing-r1]' },
      ]);

      await control.jobberRequestAction(requestId, 'complete', 123456);
      const batch = await gql(
        access_token,
        `query ($a: EncodedId!, $b: EncodedId!) {
          r1: request(id: $a) { id requestStatus title jobs(first: 5) { nodes { id jobStatus completedAt total visits(first: 5) { nodes { startAt completedAt } } } } }
          r2: request(id: $b) { id }
        }`,
        { a: requestId, b: clientId },
      );
      expect(batch.body.data.r2).toBeNull();
      expect(batch.body.data.r1).toMatchObject({
        requestStatus: 'converted',
        jobs: { nodes: [{ jobStatus: 'requires_invoicing', total: 1234.56, completedAt: expect.any(String) }] },
      });
      const jobId = batch.body.data.r1.jobs.nodes[0].id as string;
      expect((await gql(access_token, `{ job(id: "${jobId}") { id total } }`)).body.data.job).toEqual({
        id: jobId,
        total: 1234.56,
      });
    });

    it('keeps each account to its own records', async () => {
      const a = await connect();
      const b = await connect();
      expect(a.accountId).not.toBe(b.accountId);
      const { clientId } = await clientAndRequest(a.access_token);
      expect((await gql(b.access_token, `{ client(id: "${clientId}") { id } }`)).body.data.client).toBeNull();
      expect((await gql(b.access_token, '{ clients { nodes { id } } }')).body.data.clients.nodes).toEqual([]);
    });

    it('answers userErrors for a too-long title, a wrong form and on demand', async () => {
      const { access_token, accountId } = await connect();
      const { clientId, formId } = await clientAndRequest(access_token);
      const tooLong = await gql(access_token, REQUEST_CREATE, {
        input: { clientId, title: 'x'.repeat(256), customFormInput: { formId } },
      });
      expect(tooLong.body.data.requestCreate).toEqual({
        request: null,
        userErrors: [{ message: 'Title is too long (maximum is 255 characters)', path: ['title'] }],
      });
      const wrongForm = await gql(access_token, REQUEST_CREATE, {
        input: { clientId, customFormInput: { formId: '1' } },
      });
      expect(wrongForm.body.data.requestCreate.userErrors[0].path).toEqual(['customFormInput', 'formId']);

      await control.jobberUserErrors(accountId, { message: 'Client is archived' });
      const refused = await gql(access_token, REQUEST_CREATE, { input: { clientId, customFormInput: { formId } } });
      expect(refused.body.data.requestCreate).toEqual({
        request: null,
        userErrors: [{ message: 'Client is archived', path: [] }],
      });
      const next = await gql(access_token, REQUEST_CREATE, { input: { clientId, customFormInput: { formId } } });
      expect(next.body.data.requestCreate.userErrors).toEqual([]);
      expect((await control.jobberRecords()).requests).toHaveLength(2);
    });

    it('reports the query cost by Jobber rules and throttles when the bucket is short', async () => {
      const { access_token, accountId } = await connect();
      await clientAndRequest(access_token);
      // clients(1) × first 10 × (nodes 0 + id 1 + name 1 + requests(1) × first 5 × (nodes 0 + id 1)) = 1 + 10 × (2 + 1 + 5) = 81
      const doc = '{ clients(first: 10) { nodes { id name requests(first: 5) { nodes { id } } } } }';
      const res = await gql(access_token, doc);
      expect(res.body.extensions.cost).toEqual({
        requestedQueryCost: 81,
        // One client with one request really came back: 1 + (2 + 1 + 1) = 5.
        actualQueryCost: 5,
        throttleStatus: { maximumAvailable: 10000, currentlyAvailable: expect.any(Number), restoreRate: 500 },
      });
      // No first: 100 nodes assumed.
      expect((await gql(access_token, '{ clients { nodes { id } } }')).body.extensions.cost.requestedQueryCost).toBe(
        101,
      );

      await control.setJobberSettings({ maximumAvailable: 100, restoreRate: 1 });
      const throttled = await gql(access_token, '{ clients(first: 50) { nodes { id name phones { number } } } }');
      expect(throttled.status).toBe(200);
      expect(throttled.body.data).toBeUndefined();
      expect(throttled.body.errors).toEqual([
        {
          message: 'Throttled',
          extensions: { code: 'THROTTLED', documentation: expect.stringContaining('rate_limits') },
        },
      ]);
      expect(throttled.body.extensions.cost).toMatchObject({
        // 1 + 50 × (id + name + phones + number)
        requestedQueryCost: 201,
        actualQueryCost: 0,
        throttleStatus: { maximumAvailable: 100, currentlyAvailable: 100, restoreRate: 1 },
      });
      expect((await control.jobberAccount(accountId)).throttled).toBe(1);
      // What fits the bucket still passes, and spends from it.
      const fits = await gql(access_token, '{ clients(first: 10) { nodes { id } } }');
      expect(fits.body.data.clients.nodes).toHaveLength(1);
      expect(fits.body.extensions.cost).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 2 });
      expect(fits.body.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(99);
    });

    it('answers 429 past the request limit per account', async () => {
      const { access_token } = await connect();
      expect(await control.getLimits('jobber')).toEqual({ window: { requests: 2500, seconds: 300 } });
      await control.setLimits('jobber', { window: { requests: 3, seconds: 300 } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await gql(access_token, '{ account { id } }')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const res = await gql(access_token, '{ account { id } }');
      expect(res.body).toEqual({
        errors: [{ message: expect.any(String), extensions: { code: 'TOO_MANY_REQUESTS' } }],
      });
    });
  });

  describe('lifecycle and faults', () => {
    it('moves a request through convert, schedule, start, hold, complete and archive with the schema enums', async () => {
      const { access_token } = await connect();
      const { request } = await clientAndRequest(access_token);
      const id = request.body.data.requestCreate.request.id as string;
      const read = async () =>
        (
          await gql(
            access_token,
            `query ($id: EncodedId!) { request(id: $id) { requestStatus jobs(first: 1) { nodes { jobStatus completedAt total visits(first: 1) { nodes { visitStatus startAt isComplete } } } } } }`,
            { id },
          )
        ).body.data.request;

      expect((await control.jobberRequestAction(id, 'convert')).job?.jobStatus).toBe('upcoming');
      expect(await read()).toMatchObject({ requestStatus: 'converted', jobs: { nodes: [{ jobStatus: 'upcoming' }] } });
      await control.jobberRequestAction(id, 'schedule');
      expect((await read()).jobs.nodes[0]).toMatchObject({
        jobStatus: 'today',
        visits: { nodes: [{ visitStatus: 'TODAY' }] },
      });
      await control.jobberRequestAction(id, 'start');
      const started = (await read()).jobs.nodes[0];
      expect(started).toMatchObject({
        jobStatus: 'active',
        visits: { nodes: [{ visitStatus: 'ACTIVE', isComplete: false }] },
      });
      expect(Date.parse(started.visits.nodes[0].startAt)).toBeLessThanOrEqual(Date.now());
      await control.jobberRequestAction(id, 'hold');
      expect((await read()).jobs.nodes[0].jobStatus).toBe('on_hold');
      await control.jobberRequestAction(id, 'complete', 9900);
      expect((await read()).jobs.nodes[0]).toMatchObject({
        jobStatus: 'requires_invoicing',
        total: 99,
        completedAt: expect.any(String),
        visits: { nodes: [{ visitStatus: 'COMPLETED', isComplete: true }] },
      });
      await expect(control.jobberRequestAction(id, 'start')).rejects.toMatchObject({ status: 409 });
      await control.jobberRequestAction(id, 'archive');
      expect((await read()).jobs.nodes[0].jobStatus).toBe('archived');

      const other = await gql(access_token, REQUEST_CREATE, {
        input: {
          clientId: (await control.jobberRecords()).clients[0].id,
          customFormInput: { formId: (await gql(access_token, FORM)).body.data.requestSettings.forms.nodes[0].id },
        },
      });
      const canceled = await control.jobberRequestAction(other.body.data.requestCreate.request.id, 'archive');
      expect(canceled).toMatchObject({ request: { requestStatus: 'archived', jobIds: [] }, job: null });
      await expect(control.jobberRequestAction('nope', 'convert')).rejects.toMatchObject({ status: 404 });
    });

    it('auto-lifecycle takes new requests to completion with a total, or archives them', async () => {
      await control.setOptions({ autoLifecycle: { completeAfterMs: 300 } });
      const { access_token } = await connect();
      const { clientId, formId } = await clientAndRequest(access_token);
      for (let i = 0; i < 5; i++)
        await gql(access_token, REQUEST_CREATE, { input: { clientId, customFormInput: { formId } } });
      await new Promise((r) => setTimeout(r, 600));
      const records = await control.jobberRecords();
      expect(records.requests).toHaveLength(6);
      for (const request of records.requests) {
        if (request.requestStatus === 'archived') expect(request.jobIds).toEqual([]);
        else {
          const job = records.jobs.find((j) => j.requestId === request.id);
          expect(job).toMatchObject({ jobStatus: 'requires_invoicing', completedAt: expect.any(String) });
          expect(job?.total).toBeGreaterThanOrEqual(150);
        }
      }
    });

    it('timeout after requestCreate stores the request and never answers; error and 429 faults in Jobber wording', async () => {
      const { access_token } = await connect();
      const { clientId, formId } = await clientAndRequest(access_token);
      await control.setFaults('jobber', { timeoutAfterCreateRate: 1 });
      await expect(
        fetch(`${sandbox.url}/api/graphql`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${access_token}`,
            'X-JOBBER-GRAPHQL-VERSION': VERSION,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({
            query: REQUEST_CREATE,
            variables: { input: { clientId, title: 'held', customFormInput: { formId } } },
          }),
          signal: AbortSignal.timeout(300),
        }),
      ).rejects.toThrow();
      expect((await control.jobberRecords()).requests.filter((r) => r.title === 'held')).toHaveLength(1);
      // Queries are answered: only the create is held.
      expect((await gql(access_token, '{ account { id } }')).status).toBe(200);

      await control.setFaults('jobber', { errorRate: 1, errorStatus: 502 });
      const failed = await gql(access_token, '{ account { id } }');
      expect(failed.status).toBe(502);
      expect(failed.body).toEqual({ errors: [{ message: expect.any(String) }] });
      // OAuth endpoints are spared, as the other providers' token endpoints.
      expect((await authorize()).searchParams.get('code')).toEqual(expect.any(String));
      await control.setFaults('jobber', { rateLimitRate: 1, retryAfterSeconds: 4 });
      const limited = await fetch(`${sandbox.url}/api/graphql`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${access_token}`,
          'X-JOBBER-GRAPHQL-VERSION': VERSION,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ query: '{ account { id } }' }),
      });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('4');
    });
  });
});
