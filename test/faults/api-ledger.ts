import { setTimeout as sleep } from 'node:timers/promises';

/** When a dependency (Redis) was down: [from, to] in epoch ms; `to` is open while it is still down. */
export interface Outage {
  what: string;
  from: number;
  to: number | null;
}

export interface ApiFailure {
  at: string;
  request: string;
  status: number | 'network_error' | 'timeout';
  detail: string;
}

export interface ApiResult<T = any> {
  status: number | 'network_error' | 'timeout';
  body: T;
  verdict: 'ok' | 'tolerated' | 'failure';
}

// Reconnecting clients need a moment after a dependency is back; answers in this tail still count as "while down".
const OUTAGE_GRACE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Every request the suite sends to the API goes through here and is judged: the expected status is
 * fine; a 503 problem+json is tolerated only when it overlaps a dependency outage; anything else
 * (another status, a network error, a timeout) is a failure of the service.
 */
export class ApiLedger {
  readonly byStatus = new Map<string, number>();
  readonly failures: ApiFailure[] = [];
  requests = 0;
  tolerated = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly outages: Outage[],
  ) {}

  async call<T = any>(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; expect: number[] },
  ): Promise<ApiResult<T>> {
    const startedAt = Date.now();
    const request = `${method} ${path}`;
    this.requests++;
    let status: ApiResult['status'];
    let body: any;
    let contentType = '';
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      const text = await res.text();
      body = contentType.includes('json') && text ? JSON.parse(text) : text;
    } catch (error) {
      status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network_error';
      body = (error as Error).message;
    }
    this.byStatus.set(String(status), (this.byStatus.get(String(status)) ?? 0) + 1);

    if (typeof status === 'number' && options.expect.includes(status)) return { status, body, verdict: 'ok' };
    if (
      status === 503 &&
      contentType.includes('application/problem+json') &&
      this.overlapsOutage(startedAt, Date.now())
    ) {
      this.tolerated++;
      return { status, body, verdict: 'tolerated' };
    }
    this.failures.push({
      at: new Date(startedAt).toISOString(),
      request,
      status,
      detail: (typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 300),
    });
    return { status, body, verdict: 'failure' };
  }

  private overlapsOutage(from: number, to: number): boolean {
    return this.outages.some((o) => from <= (o.to ?? Number.POSITIVE_INFINITY) + OUTAGE_GRACE_MS && to >= o.from);
  }
}

export interface CreatedJob {
  n: number;
  id: string;
  routings: { id: string; providerType: string; companyId: string }[];
}

/**
 * Sends `count` POST /api/jobs with at most `concurrency` in flight, paced over `spreadMs` so the
 * load overlaps the chaos. Each job has an Idempotency-Key and is re-sent (same key) after a
 * non-201, as a real client would, so every job is eventually created exactly once.
 */
export async function runLoad(params: {
  api: ApiLedger;
  count: number;
  concurrency: number;
  spreadMs: number;
  body: (n: number) => unknown;
  idempotencyKey: (n: number) => string;
  onCreated: (job: CreatedJob) => void;
  /** Every `readBackEvery`-th created job is read back with GET /api/jobs/:id. */
  readBackEvery: number;
}): Promise<{ created: number; gaveUp: number[]; replays: number }> {
  const { api, count } = params;
  const started = Date.now();
  let next = 0;
  let created = 0;
  let replays = 0;
  const gaveUp: number[] = [];

  const createOne = async (n: number) => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const res = await api.call('POST', '/api/jobs', {
        body: params.body(n),
        headers: { 'idempotency-key': params.idempotencyKey(n) },
        expect: [201],
      });
      if (res.verdict === 'ok') {
        if (attempt > 1) replays++;
        const job: CreatedJob = {
          n,
          id: res.body.id,
          routings: (res.body.routings as { id: string; providerType: string; companyId: string }[]).map((r) => ({
            id: r.id,
            providerType: r.providerType,
            companyId: r.companyId,
          })),
        };
        params.onCreated(job);
        created++;
        if (created % params.readBackEvery === 0) {
          await api.call('GET', `/api/jobs/${job.id}`, { expect: [200] });
        }
        return;
      }
      await sleep(Math.min(4000, 250 * 2 ** attempt));
    }
    gaveUp.push(n);
  };

  const worker = async () => {
    for (;;) {
      const n = next++;
      if (n >= count) return;
      const notBefore = started + (n * params.spreadMs) / count;
      if (Date.now() < notBefore) await sleep(notBefore - Date.now());
      await createOne(n);
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, worker));
  return { created, gaveUp, replays };
}
