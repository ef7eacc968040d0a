export const PROVIDER_ERROR_CODES = [
  'RATE_LIMITED',
  'TEMPORARY',
  'TIMEOUT',
  'NETWORK',
  'AUTH',
  'NOT_FOUND',
  'INVALID',
  'UNKNOWN',
] as const;
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/** A failed provider call, already classified. Messages carry the provider's words, never credentials. */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  readonly retryable: boolean;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
  readonly providerMessage: string;

  constructor(params: {
    code: ProviderErrorCode;
    retryable: boolean;
    providerMessage: string;
    httpStatus?: number;
    retryAfterMs?: number;
  }) {
    const status = params.httpStatus === undefined ? '' : ` HTTP ${params.httpStatus}`;
    super(`Provider call failed (${params.code}${status}): ${params.providerMessage}`);
    this.name = 'ProviderError';
    this.code = params.code;
    this.retryable = params.retryable;
    this.providerMessage = params.providerMessage;
    if (params.httpStatus !== undefined) this.httpStatus = params.httpStatus;
    if (params.retryAfterMs !== undefined) this.retryAfterMs = params.retryAfterMs;
  }
}

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export interface ProviderFailure {
  status?: number;
  headers?: HeaderSource;
  /** Parsed JSON or raw text of the response body. */
  body?: unknown;
  /** The network or abort error when no response arrived. */
  cause?: unknown;
  /** Only for tests: the clock used to turn an HTTP-date Retry-After into a delay. */
  now?: number;
}

const MAX_MESSAGE_LENGTH = 500;
// OAuth token-endpoint error codes that mean "these credentials will never work" (RFC 6749 §5.2).
const OAUTH_AUTH_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant']);
const TIMEOUT_CAUSE_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * The one place that turns a provider failure into a code and a retry decision (SPEC section 4):
 * network errors, timeouts, 408, 429 and 5xx are retryable (429/503 honour Retry-After); 401/403 are
 * AUTH (the ServiceTitan client refreshes its token once before giving up); other 4xx are permanent.
 */
export function classifyProviderFailure(input: ProviderFailure): ProviderError {
  if (input.cause instanceof ProviderError) return input.cause;
  const status = input.status;
  if (status === undefined) {
    const timeout = isTimeoutError(input.cause);
    return new ProviderError({
      code: timeout ? 'TIMEOUT' : 'NETWORK',
      retryable: true,
      providerMessage: timeout ? 'request timed out' : networkMessage(input.cause),
    });
  }

  const message = extractProviderMessage(input.body) ?? `HTTP ${status}`;
  const base = { httpStatus: status, providerMessage: message };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(headerValue(input.headers, 'retry-after'), input.now ?? Date.now());
    return new ProviderError({
      ...base,
      code: status === 429 ? 'RATE_LIMITED' : 'TEMPORARY',
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 408) return new ProviderError({ ...base, code: 'TIMEOUT', retryable: true });
  if (status >= 500 && status <= 599) return new ProviderError({ ...base, code: 'TEMPORARY', retryable: true });
  if (status === 401 || status === 403 || isOAuthCredentialError(input.body)) {
    return new ProviderError({ ...base, code: 'AUTH', retryable: false });
  }
  if (status === 404 || status === 410) return new ProviderError({ ...base, code: 'NOT_FOUND', retryable: false });
  if (status >= 400 && status <= 499) return new ProviderError({ ...base, code: 'INVALID', retryable: false });
  return new ProviderError({ ...base, code: 'UNKNOWN', retryable: false });
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Pulls a readable message out of either provider's error body:
 * ServiceTitan `{title, detail?, errors: {Field: [msg]}}`; Housecall Pro `{message}`, `{error: {message}}`,
 * `{errors: {field: [msg]}}`; OAuth `{error, error_description}`; or plain text.
 */
export function extractProviderMessage(body: unknown): string | undefined {
  const parsed = typeof body === 'string' ? parseJsonOrText(body) : body;
  if (typeof parsed === 'string') return clip(parsed.trim()) || undefined;
  if (!isRecord(parsed)) return undefined;

  const parts: string[] = [];
  if (typeof parsed.title === 'string') parts.push(parsed.title);
  if (typeof parsed.detail === 'string') parts.push(parsed.detail);
  if (typeof parsed.message === 'string') parts.push(parsed.message);
  if (isRecord(parsed.error) && typeof parsed.error.message === 'string') parts.push(parsed.error.message);
  if (typeof parsed.error === 'string') {
    parts.push(
      typeof parsed.error_description === 'string' ? `${parsed.error}: ${parsed.error_description}` : parsed.error,
    );
  }
  const fieldErrors = formatFieldErrors(parsed.errors);
  if (fieldErrors) parts.push(fieldErrors);
  const message = parts.join(' - ').trim();
  return message ? clip(message) : undefined;
}

function formatFieldErrors(errors: unknown): string | undefined {
  if (Array.isArray(errors)) {
    const messages = errors
      .map((e) => (typeof e === 'string' ? e : isRecord(e) && typeof e.message === 'string' ? e.message : undefined))
      .filter((m): m is string => !!m);
    return messages.length ? messages.join('; ') : undefined;
  }
  if (!isRecord(errors)) return undefined;
  const entries = Object.entries(errors).map(([field, value]) => {
    const messages = Array.isArray(value) ? value.map(String) : [String(value)];
    return `${field}: ${messages.join(', ')}`;
  });
  return entries.length ? entries.join('; ') : undefined;
}

function isOAuthCredentialError(body: unknown): boolean {
  const parsed = typeof body === 'string' ? parseJsonOrText(body) : body;
  return isRecord(parsed) && typeof parsed.error === 'string' && OAUTH_AUTH_ERRORS.has(parsed.error);
}

function isTimeoutError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; isRecord(e) && depth < 4; e = e.cause, depth++) {
    if (e.name === 'TimeoutError') return true;
    if (typeof e.code === 'string' && TIMEOUT_CAUSE_CODES.has(e.code)) return true;
  }
  return false;
}

function networkMessage(error: unknown): string {
  // undici reports "fetch failed" with the socket error as `cause`; the cause code is the useful part.
  const cause = isRecord(error) ? error.cause : undefined;
  if (isRecord(cause) && typeof cause.code === 'string') return `network error (${cause.code})`;
  if (isRecord(error) && error.name === 'AbortError') return 'request aborted';
  return 'network error';
}

function headerValue(headers: HeaderSource | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : (headers as Record<string, string | string[] | undefined>)[key];
  return Array.isArray(value) ? value[0] : value;
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
