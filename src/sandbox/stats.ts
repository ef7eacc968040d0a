import type { IncomingHttpHeaders } from 'node:http';

import type { ProviderStats, RequestLogEntry, SandboxStats } from './sandbox.types';

const LOG_SIZE = 1000;
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'x-api-key']);

function emptyProviderStats(): ProviderStats {
  return { requests: 0, tokenRequests: 0, rateLimited: 0, byStatus: {}, byRoute: {}, byAccount: {}, byCredential: {} };
}

/** Keeps the scheme (so tests can see "Bearer" vs "Token") and hides the credential. */
export function maskHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!SECRET_HEADERS.has(name)) {
      out[name] = value;
      continue;
    }
    const scheme = /^(\w+)\s+\S/.exec(value);
    out[name] = scheme ? `${scheme[1]} ***` : '***';
  }
  return out;
}

export interface CompletedRequest {
  provider: string;
  method: string;
  path: string;
  route: string;
  status: number | 'no_response';
  startedAt: number;
  account: string | null;
  credential: string | null;
  headers: IncomingHttpHeaders;
  tokenRequest: boolean;
}

export class StatsRecorder {
  private readonly stats = new Map<string, ProviderStats>();
  private log: RequestLogEntry[] = [];
  private seq = 0;

  /** Every provider appears in snapshots, also before its first call. */
  constructor(private readonly providers: readonly string[]) {}

  reset(): void {
    this.stats.clear();
    this.log = [];
  }

  record(r: CompletedRequest): void {
    const s = this.providerStats(r.provider);
    const status = String(r.status);
    s.requests++;
    if (r.tokenRequest) s.tokenRequests++;
    if (r.status === 429) s.rateLimited++;
    s.byStatus[status] = (s.byStatus[status] ?? 0) + 1;
    const route = (s.byRoute[r.route] ??= { count: 0, byStatus: {} });
    route.count++;
    route.byStatus[status] = (route.byStatus[status] ?? 0) + 1;
    if (r.account !== null) s.byAccount[r.account] = (s.byAccount[r.account] ?? 0) + 1;
    if (r.credential !== null) s.byCredential[r.credential] = (s.byCredential[r.credential] ?? 0) + 1;

    this.log.push({
      seq: ++this.seq,
      at: new Date(r.startedAt).toISOString(),
      provider: r.provider,
      method: r.method,
      path: r.path,
      route: r.route,
      status: r.status,
      durationMs: Date.now() - r.startedAt,
      account: r.account,
      credential: r.credential,
      headers: maskHeaders(r.headers),
    });
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
  }

  snapshot(): SandboxStats {
    const providers = Object.fromEntries(this.providers.map((p) => [p, structuredClone(this.providerStats(p))]));
    const all = Object.values(providers);
    return {
      requests: all.reduce((n, p) => n + p.requests, 0),
      tokenRequests: all.reduce((n, p) => n + p.tokenRequests, 0),
      rateLimited: all.reduce((n, p) => n + p.rateLimited, 0),
      providers,
    };
  }

  /** Most recent last. */
  requests(provider: string | null, limit: number): RequestLogEntry[] {
    const matching = provider ? this.log.filter((e) => e.provider === provider) : this.log;
    return matching.slice(-limit);
  }

  private providerStats(provider: string): ProviderStats {
    let s = this.stats.get(provider);
    if (!s) this.stats.set(provider, (s = emptyProviderStats()));
    return s;
  }
}
