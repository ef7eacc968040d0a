import { recordResponse } from '../contract/contract-recorder';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  contentType: string;
}

/** A small fetch wrapper: real HTTP against the running app; every response is checked against the OpenAPI document. */
export function apiClient(baseUrl: string, apiKey?: string) {
  async function call<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string | null } = {},
  ): Promise<ApiResponse<T>> {
    const key = options.key === undefined ? apiKey : options.key;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (contentType.includes('json') && text) parsed = JSON.parse(text);
    recordResponse(baseUrl, { method, path, status: res.status, headers: res.headers, body: parsed });
    return { status: res.status, body: parsed as T, headers: res.headers, contentType };
  }
  return {
    get: <T = any>(path: string, o?: Parameters<typeof call>[2]) => call<T>('GET', path, o),
    post: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[2]) =>
      call<T>('POST', path, { ...o, body }),
    patch: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[2]) =>
      call<T>('PATCH', path, { ...o, body }),
    delete: <T = any>(path: string, o?: Parameters<typeof call>[2]) => call<T>('DELETE', path, o),
    call,
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** Asserts an RFC 9457 problem response and returns it. */
export function expectProblem(res: ApiResponse, status: number, field?: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { status } });
  expect(res.contentType).toContain('application/problem+json');
  expect(res.body).toEqual(
    expect.objectContaining({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) }),
  );
  if (field) expect((res.body.errors ?? []).map((e: { field: string }) => e.field)).toContain(field);
  return res.body;
}
