import { Agent as HttpAgent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

import { ProviderCallHooks } from './field-service-provider';
import { ProviderError, classifyProviderFailure } from './provider-error';

export interface ProviderRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless `form` is given. */
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs: number;
  hooks?: ProviderCallHooks;
  /** This request creates the record a routing tracks (booking, job, request): a retry must look it up first. */
  createsRecord?: boolean;
}

/**
 * Sends one HTTP request to a provider and returns the parsed JSON body of a 2xx response.
 * Every other outcome is thrown as a classified ProviderError. The hooks see every request exactly
 * once: beforeRequest before sending, afterResponse with the status (or network_error/timeout).
 */
export async function sendProviderRequest<T>(request: ProviderRequest): Promise<T> {
  const { hooks } = request;
  const headers: Record<string, string> = { Accept: 'application/json', ...request.headers };
  if (hooks?.requestId) headers['X-Request-Id'] = hooks.requestId;
  let body: string | undefined;
  if (request.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(request.form).toString();
  } else if (request.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(request.json);
  }

  await hooks?.beforeRequest?.({ createsRecord: request.createsRecord === true });
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  let status: number;
  let responseHeaders: IncomingHttpHeaders;
  let text: string;
  try {
    ({ status, headers: responseHeaders, text } = await exchange(request, headers, body));
  } catch (cause) {
    const error = classifyProviderFailure({ cause });
    hooks?.afterResponse?.({ status: error.code === 'TIMEOUT' ? 'timeout' : 'network_error', durationMs: elapsed() });
    throw error;
  }

  const parsed = parseBody(text);
  if (status < 200 || status > 299) {
    const error = classifyProviderFailure({ status, headers: responseHeaders, body: parsed });
    hooks?.afterResponse?.({
      status,
      durationMs: elapsed(),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    });
    throw error;
  }
  hooks?.afterResponse?.({ status, durationMs: elapsed() });
  if (text !== '' && typeof parsed === 'string') {
    throw new ProviderError({
      code: 'UNKNOWN',
      retryable: false,
      httpStatus: status,
      providerMessage: 'response is not JSON',
    });
  }
  return parsed as T;
}

// Connections to a provider are kept open between requests (node:http keep-alive agents: no new TCP or TLS
// handshake per call). An idle socket is closed after IDLE_SOCKET_MS, or sooner when the server's Keep-Alive
// header says it closes first, so a request is not sent on a socket the server is closing.
const IDLE_SOCKET_MS = 4000;
const AGENT_OPTIONS = { keepAlive: true, timeout: IDLE_SOCKET_MS, maxFreeSockets: 32, scheduling: 'lifo' as const };
const agents = { http: new HttpAgent(AGENT_OPTIONS), https: new HttpsAgent(AGENT_OPTIONS) };

/** One HTTP exchange; the timeout covers the whole of it, body included. */
function exchange(
  request: ProviderRequest,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      // Shaped like fetch's failures: the socket error as `cause`, which the classifier reads.
      reject(error.name === 'TimeoutError' ? error : new Error('request failed', { cause: error }));
    };
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method: request.method, headers, agent: secure ? agents.https : agents.http },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (part: Buffer) => chunks.push(part));
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => {
      const timeout = new Error('request timed out');
      timeout.name = 'TimeoutError';
      fail(timeout);
    }, request.timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After the first failure no new calls start; the batch fails as a whole.
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export function queryString(params: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
}
