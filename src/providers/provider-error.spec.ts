import { ProviderErrorCode, classifyProviderFailure, extractProviderMessage, parseRetryAfter } from './provider-error';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('classifyProviderFailure', () => {
  const timeoutError = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
  const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  const headersTimeout = Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } });

  it.each<[string, Parameters<typeof classifyProviderFailure>[0], ProviderErrorCode, boolean, number | undefined]>([
    ['abort timeout', { cause: timeoutError }, 'TIMEOUT', true, undefined],
    ['undici headers timeout', { cause: headersTimeout }, 'TIMEOUT', true, undefined],
    ['connection refused', { cause: refused }, 'NETWORK', true, undefined],
    ['unknown thrown value', { cause: 'boom' }, 'NETWORK', true, undefined],
    ['408', { status: 408 }, 'TIMEOUT', true, undefined],
    ['429 without Retry-After', { status: 429 }, 'RATE_LIMITED', true, undefined],
    ['429 Retry-After seconds', { status: 429, headers: { 'Retry-After': '7' } }, 'RATE_LIMITED', true, 7000],
    [
      '429 Retry-After HTTP-date (Headers)',
      { status: 429, headers: new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now: NOW },
      'RATE_LIMITED',
      true,
      30_000,
    ],
    [
      '429 Retry-After date in the past',
      { status: 429, headers: { 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }, now: NOW },
      'RATE_LIMITED',
      true,
      0,
    ],
    ['429 garbage Retry-After', { status: 429, headers: { 'retry-after': 'soon' } }, 'RATE_LIMITED', true, undefined],
    ['500', { status: 500 }, 'TEMPORARY', true, undefined],
    ['502', { status: 502 }, 'TEMPORARY', true, undefined],
    ['503 Retry-After', { status: 503, headers: { 'retry-after': '2' } }, 'TEMPORARY', true, 2000],
    ['504', { status: 504 }, 'TEMPORARY', true, undefined],
    ['401', { status: 401, body: { message: 'Unauthorized' } }, 'AUTH', false, undefined],
    ['403', { status: 403 }, 'AUTH', false, undefined],
    [
      '400 invalid_client (token endpoint)',
      { status: 400, body: { error: 'invalid_client' } },
      'AUTH',
      false,
      undefined,
    ],
    [
      '400 validation',
      { status: 400, body: { title: 'Bad', errors: { Name: ['required'] } } },
      'INVALID',
      false,
      undefined,
    ],
    ['404', { status: 404 }, 'NOT_FOUND', false, undefined],
    ['409', { status: 409 }, 'INVALID', false, undefined],
    ['422', { status: 422, body: { errors: { name: ['is missing'] } } }, 'INVALID', false, undefined],
    ['302', { status: 302 }, 'UNKNOWN', false, undefined],
  ])('%s', (_name, input, code, retryable, retryAfterMs) => {
    const error = classifyProviderFailure(input);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.retryAfterMs).toBe(retryAfterMs);
    expect(error.httpStatus).toBe(input.status);
  });

  it('keeps the provider message and the status in the error message', () => {
    const error = classifyProviderFailure({ status: 404, body: { error: { message: 'Job not found' } } });
    expect(error.providerMessage).toBe('Job not found');
    expect(error.message).toBe('Provider call failed (NOT_FOUND HTTP 404): Job not found');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProviderError');
  });

  it('falls back to the HTTP status when the body says nothing', () => {
    expect(classifyProviderFailure({ status: 500, body: '' }).providerMessage).toBe('HTTP 500');
  });

  it('passes an already classified error through', () => {
    const error = classifyProviderFailure({ status: 429 });
    expect(classifyProviderFailure({ cause: error })).toBe(error);
  });

  it('names the socket error code for network failures', () => {
    expect(classifyProviderFailure({ cause: refused }).providerMessage).toBe('network error (ECONNREFUSED)');
  });
});

describe('extractProviderMessage', () => {
  it.each<[string, unknown, string | undefined]>([
    [
      'ServiceTitan problem details',
      {
        type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
        title: 'One or more validation errors occurred.',
        status: 400,
        errors: { Ids: ['Simple IDs lookup should not exceed 50'] },
      },
      'One or more validation errors occurred. - Ids: Simple IDs lookup should not exceed 50',
    ],
    ['ServiceTitan title only', { title: 'Not Found', status: 404, errors: {} }, 'Not Found'],
    [
      'ServiceTitan title and detail',
      { title: 'Not Found', status: 404, detail: 'Job with ID 5 not found' },
      'Not Found - Job with ID 5 not found',
    ],
    ['HCP 401', { message: 'Unauthorized' }, 'Unauthorized'],
    ['HCP error.message', { error: { message: 'statuses is required' } }, 'statuses is required'],
    [
      'HCP errors map',
      { errors: { name: ['is missing'], zip: ['is invalid', 'is too long'] } },
      'name: is missing; zip: is invalid, is too long',
    ],
    [
      'OAuth error',
      { error: 'invalid_client', error_description: 'Client authentication failed' },
      'invalid_client: Client authentication failed',
    ],
    ['errors array', { errors: [{ message: 'a' }, 'b'] }, 'a; b'],
    ['JSON text', '{"message":"Unauthorized"}', 'Unauthorized'],
    ['plain text', ' Bad Gateway ', 'Bad Gateway'],
    ['empty text', '', undefined],
    ['empty object', {}, undefined],
    ['null', null, undefined],
  ])('%s', (_name, body, expected) => {
    expect(extractProviderMessage(body)).toBe(expected);
  });

  it('clips very long bodies', () => {
    expect(extractProviderMessage('x'.repeat(2000))!.length).toBeLessThanOrEqual(501);
  });
});

describe('parseRetryAfter', () => {
  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['120', 120_000],
    ['1.5', 1500],
    ['Wed, 01 Jan 2025 00:01:00 GMT', 60_000],
    ['not a date', undefined],
  ])('%p → %p', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});
