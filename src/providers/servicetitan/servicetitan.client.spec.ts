import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

import { ServiceTitanClient, ServiceTitanTokenCache } from './servicetitan.client';

describe('ServiceTitanTokenCache', () => {
  let now: number;
  let issued: number;
  let cache: ServiceTitanTokenCache;
  const issue = (expiresInSeconds: number) => async () => {
    issued++;
    return { accessToken: `token-${issued}`, expiresInSeconds };
  };

  beforeEach(() => {
    now = 1_000_000;
    issued = 0;
    cache = new ServiceTitanTokenCache(() => now);
  });

  it('reuses a token until 60 s before a 900 s expiry', async () => {
    expect(await cache.get('k', issue(900))).toBe('token-1');
    now += 839_999;
    expect(await cache.get('k', issue(900))).toBe('token-1');
    now += 1;
    expect(await cache.get('k', issue(900))).toBe('token-2');
  });

  it('renews short-lived tokens 10% early', async () => {
    await cache.get('k', issue(2));
    now += 1_799;
    expect(await cache.get('k', issue(2))).toBe('token-1');
    now += 1;
    expect(await cache.get('k', issue(2))).toBe('token-2');
  });

  it('shares one in-flight request between concurrent callers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = async () => {
      issued++;
      await gate;
      return { accessToken: 'shared', expiresInSeconds: 900 };
    };
    const calls = Array.from({ length: 20 }, () => cache.get('k', slow));
    release();
    expect(await Promise.all(calls)).toEqual(Array(20).fill('shared'));
    expect(issued).toBe(1);
  });

  it('keeps keys apart', async () => {
    await cache.get('a', issue(900));
    await cache.get('b', issue(900));
    expect(issued).toBe(2);
  });

  it('does not cache a failed request', async () => {
    await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', issue(900))).toBe('token-1');
  });

  it('invalidates only the token that was rejected', async () => {
    await cache.get('k', issue(900));
    cache.invalidate('k', 'token-old');
    expect(await cache.get('k', issue(900))).toBe('token-1');
    cache.invalidate('k', 'token-1');
    expect(await cache.get('k', issue(900))).toBe('token-2');
  });

  it('keys by tenant, client id and a hash of the secret, never the secret itself', () => {
    const credentials = { tenantId: '1', clientId: 'cid', clientSecret: 'very-secret', bookingProviderId: '2' };
    const key = ServiceTitanTokenCache.keyFor(credentials);
    expect(key).toMatch(/^1:cid:[0-9a-f]{16}$/);
    expect(key).not.toContain('very-secret');
    expect(ServiceTitanTokenCache.keyFor({ ...credentials, clientSecret: 'other' })).not.toBe(key);
  });
});

describe('ServiceTitanClient pagination (stub server)', () => {
  let server: Server;
  let client: ServiceTitanClient;
  const seen: string[] = [];
  const credentials = { tenantId: '5', clientId: 'c', clientSecret: 's', bookingProviderId: '6' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://stub');
      seen.push(`${req.method} ${url.pathname}${url.search}`);
      const json = (body: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/connect/token') return json({ access_token: 'tok', expires_in: 900 });
      const page = Number(url.searchParams.get('page'));
      if (url.pathname.endsWith('/invoices')) {
        // A server that pages at 2 although we asked for 50: keep reading while hasMore says so.
        const all = [
          { id: 1, total: '10.00', job: { id: 9 } },
          { id: 2, total: '0.05', job: { id: 9 } },
          { id: 3, total: '99.00', job: { id: 8 } }, // another job's invoice: an ignored filter must not count it
        ];
        return json({ page, pageSize: 2, hasMore: page < 2, data: all.slice((page - 1) * 2, page * 2) });
      }
      // An "ignored" ids filter: an unfiltered page with records we did not ask for.
      return json({
        page,
        pageSize: 50,
        hasMore: false,
        data: [
          { id: 1, jobStatus: 'Scheduled' },
          { id: 2, jobStatus: 'Completed' },
        ],
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new ServiceTitanClient({ authUrl: url, apiUrl: url, appKey: 'ak', requestTimeoutMs: 2000 });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => (seen.length = 0));

  it('follows hasMore and keeps only the job’s invoices', async () => {
    const invoices = await client.getInvoicesForJob({ credentials, jobId: '9' });
    expect(invoices.map((i) => i.id)).toEqual([1, 2]);
    expect(seen.filter((s) => s.includes('/invoices'))).toEqual([
      'GET /accounting/v2/tenant/5/invoices?jobId=9&page=1&pageSize=50',
      'GET /accounting/v2/tenant/5/invoices?jobId=9&page=2&pageSize=50',
    ]);
  });

  it('drops records outside the requested ids', async () => {
    const jobs = await client.getJobsByIds({ credentials, ids: ['2', '3'] });
    expect(jobs.map((j) => j.id)).toEqual([2]);
    expect(seen.at(-1)).toBe('GET /jpm/v2/tenant/5/jobs?ids=2,3&page=1&pageSize=50');
  });
});
