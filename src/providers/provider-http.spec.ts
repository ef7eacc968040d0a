import { AddressInfo } from 'node:net';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';

import { ProviderError } from './provider-error';
import { chunk, mapWithConcurrency, sendProviderRequest } from './provider-http';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('sendProviderRequest', () => {
  let server: Server;
  let url: string;
  let handler: Handler;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (part: Buffer) => (body += part.toString()));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const hooks = () => {
    const events: string[] = [];
    const infos: Array<{ status: number | string; durationMs: number; retryAfterMs?: number }> = [];
    return {
      events,
      infos,
      requestId: 'req-123',
      beforeRequest: async () => {
        events.push('before');
      },
      afterResponse: (info: { status: number | string; durationMs: number; retryAfterMs?: number }) => {
        events.push('after');
        infos.push(info);
      },
    };
  };

  it('sends JSON with X-Request-Id and reports the status', async () => {
    let seen: { headers: IncomingMessage['headers']; body: string } | undefined;
    handler = (req, body, res) => {
      seen = { headers: req.headers, body };
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"job_1"}');
    };
    const h = hooks();
    const result = await sendProviderRequest<{ id: string }>({
      method: 'POST',
      url: `${url}/jobs`,
      json: { a: 1 },
      timeoutMs: 2000,
      hooks: h,
    });
    expect(result).toEqual({ id: 'job_1' });
    expect(seen?.headers['x-request-id']).toBe('req-123');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen!.body)).toEqual({ a: 1 });
    expect(h.events).toEqual(['before', 'after']);
    expect(h.infos[0].status).toBe(201);
    expect(h.infos[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends forms url-encoded', async () => {
    let body = '';
    handler = (req, b, res) => {
      body = `${req.headers['content-type']} ${b}`;
      res.writeHead(200).end('{}');
    };
    await sendProviderRequest({
      method: 'POST',
      url,
      form: { grant_type: 'client_credentials', client_id: 'a b' },
      timeoutMs: 2000,
    });
    expect(body).toBe('application/x-www-form-urlencoded grant_type=client_credentials&client_id=a+b');
  });

  it('classifies an error response and passes retryAfterMs to the hook', async () => {
    handler = (_req, _b, res) => res.writeHead(429, { 'retry-after': '3' }).end('{"message":"slow down"}');
    const h = hooks();
    const error = await sendProviderRequest({ method: 'GET', url, timeoutMs: 2000, hooks: h }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3000,
      httpStatus: 429,
      providerMessage: 'slow down',
    });
    expect(h.infos).toEqual([expect.objectContaining({ status: 429, retryAfterMs: 3000 })]);
  });

  it('times out and reports timeout to the hook', async () => {
    handler = (_req, _b, res) => setTimeout(() => res.writeHead(200).end('{}'), 500);
    const h = hooks();
    const error = await sendProviderRequest({ method: 'GET', url, timeoutMs: 100, hooks: h }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(h.infos).toEqual([expect.objectContaining({ status: 'timeout' })]);
  });

  it('reports a refused connection as a retryable network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const h = hooks();
    const error = await sendProviderRequest({
      method: 'GET',
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 2000,
      hooks: h,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(h.infos).toEqual([expect.objectContaining({ status: 'network_error' })]);
  });

  it('rejects a 2xx that is not JSON', async () => {
    handler = (_req, _b, res) => res.writeHead(200).end('<html>');
    await expect(sendProviderRequest({ method: 'GET', url, timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'UNKNOWN',
    });
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await mapWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5 * (8 - n)));
      inFlight--;
      return n * 10;
    });
    expect(result).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(peak).toBe(3);
  });

  it('starts no new call after a failure', async () => {
    const started: number[] = [];
    await expect(
      mapWithConcurrency([1, 2, 3, 4, 5], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });
});

describe('chunk', () => {
  it.each<[number, number, number[]]>([
    [0, 50, []],
    [50, 50, [50]],
    [51, 50, [50, 1]],
    [120, 50, [50, 50, 20]],
  ])('%d items by %d', (count, size, sizes) => {
    expect(
      chunk(
        Array.from({ length: count }, (_, i) => i),
        size,
      ).map((c) => c.length),
    ).toEqual(sizes);
  });
});
