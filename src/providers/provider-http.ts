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
  let responseHeaders: Headers;
  let text: string;
  try {
    // The timeout covers the whole exchange, body included.
    const response = await fetch(request.url, {
      method: request.method,
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    status = response.status;
    responseHeaders = response.headers;
    text = await response.text();
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
