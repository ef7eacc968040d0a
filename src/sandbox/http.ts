import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  params: Record<string, string>;
  rawBody: string;
  /** Provider account the call was authenticated as; rate limits and stats count per account. */
  account: string | null;
  /** Non-secret id of the credential the call used (a client id, an api key id, an OAuth grant id). */
  credential: string | null;
  /** Keep the request open without ever answering (timeout-after-create fault). */
  hold(): void;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

export interface RouteDef {
  method: string;
  /** Template such as /jobs/{id}; also the route's name in stats. */
  path: string;
  handler: Handler;
  /** Served without provider auth, rate limits and injected errors (token and OAuth endpoints). */
  public?: boolean;
}

interface CompiledRoute extends RouteDef {
  regex: RegExp;
  names: string[];
}

export type RouteMatch =
  | { kind: 'found'; route: RouteDef; params: Record<string, string> }
  | { kind: 'method_not_allowed'; template: string }
  | { kind: 'not_found' };

export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: RouteDef[]) {
    this.routes = routes.map((route) => {
      const names: string[] = [];
      const pattern = route.path
        .split('/')
        .map((segment) => {
          const param = /^\{(\w+)\}$/.exec(segment);
          if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1]);
          return '([^/]+)';
        })
        .join('/');
      return { ...route, regex: new RegExp(`^${pattern}/?$`), names };
    });
  }

  match(method: string, pathname: string): RouteMatch {
    let template: string | null = null;
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      if (route.method !== method) {
        template ??= route.path;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = safeDecode(m[i + 1])));
      return { kind: 'found', route, params };
    }
    return template ? { kind: 'method_not_allowed', template } : { kind: 'not_found' };
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError('request body too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function isJsonContentType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /\bjson\b/i.test(type);
}

export function isoNow(): string {
  return new Date().toISOString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Integer cents to a decimal string with two places, as ServiceTitan formats money ("1234.50"). */
export function centsToDecimalString(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy without the given keys. */
export function omit<T extends object, K extends keyof T>(value: T, keys: K[]): Omit<T, K> {
  const copy = structuredClone(value);
  for (const key of keys) delete copy[key];
  return copy;
}
