import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { controlRoutes } from './control.sandbox';
import { BodyTooLargeError, Router, readBody, sendJson, sleep, type RequestContext } from './http';
import { housecallProApi } from './housecallpro.sandbox';
import { serviceTitanApi } from './servicetitan.sandbox';
import { SandboxState, applyOptionsUpdate, type ProviderApi } from './state';

export interface SandboxOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  autoLifecycle?: boolean | { completeAfterMs: number };
  /** Default true: unknown ServiceTitan clients and Housecall Pro keys are registered on first use. */
  autoRegister?: boolean;
  /** Default 900, as ServiceTitan. */
  tokenTtlSeconds?: number;
}

export interface RunningSandbox {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long a timeout-after-create request is held before its socket is dropped. */
const HOLD_MS = 60_000;
const ST_PATH = /^\/(connect\/token$|[\w-]+\/v2\/tenant\/)/;
const HCP_PATH = /^\/(customers|jobs|tags|lead_sources)(\/|$)/;

export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const defaults = applyOptionsUpdate(
    { autoRegister: true, tokenTtlSeconds: 900, autoLifecycle: false },
    {
      autoRegister: options.autoRegister,
      tokenTtlSeconds: options.tokenTtlSeconds,
      autoLifecycle: options.autoLifecycle,
    },
  );
  if (typeof defaults === 'string') throw new Error(`invalid sandbox options: ${defaults}`);

  const state = new SandboxState(defaults);
  const serviceTitan = serviceTitanApi(state);
  const housecallPro = housecallProApi(state);
  const routers = new Map<ProviderApi, Router>([
    [serviceTitan, new Router(serviceTitan.routes)],
    [housecallPro, new Router(housecallPro.routes)],
  ]);
  const control = new Router(controlRoutes(state));
  const heldSockets = new Set<Socket>();

  function targetOf(pathname: string): ProviderApi | 'control' | null {
    if (pathname === '/_sandbox' || pathname.startsWith('/_sandbox/')) return 'control';
    if (ST_PATH.test(pathname)) return serviceTitan;
    if (HCP_PATH.test(pathname)) return housecallPro;
    return null;
  }

  function makeContext(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: string): RequestContext {
    return {
      req,
      res,
      method: req.method ?? 'GET',
      url,
      params: {},
      rawBody,
      account: null,
      appKey: null,
      hold() {
        const socket = req.socket;
        heldSockets.add(socket);
        const timer = setTimeout(() => socket.destroy(), HOLD_MS);
        timer.unref();
        socket.once('close', () => {
          clearTimeout(timer);
          heldSockets.delete(socket);
        });
      },
    };
  }

  async function handleControl(ctx: RequestContext): Promise<void> {
    const match = control.match(ctx.method, ctx.url.pathname);
    if (match.kind === 'not_found') return sendJson(ctx.res, 404, { error: `no control route ${ctx.url.pathname}` });
    if (match.kind === 'method_not_allowed') return sendJson(ctx.res, 405, { error: `${ctx.method} not allowed here` });
    ctx.params = match.params;
    await match.route.handler(ctx);
  }

  async function handleProvider(api: ProviderApi, ctx: RequestContext): Promise<void> {
    const match = (routers.get(api) as Router).match(ctx.method, ctx.url.pathname);
    const route = match.kind === 'found' ? match.route : null;
    const routeName = `${ctx.method} ${route?.path ?? (match.kind === 'method_not_allowed' ? match.template : '(unmatched)')}`;
    const startedAt = Date.now();
    let recorded = false;
    const record = (status: number | 'no_response') => {
      if (recorded) return;
      recorded = true;
      state.stats.record({
        provider: api.provider,
        method: ctx.method,
        path: ctx.url.pathname + ctx.url.search,
        route: routeName,
        status,
        startedAt,
        account: ctx.account,
        headers: ctx.req.headers,
        tokenRequest: route?.public === true,
      });
    };
    ctx.res.on('finish', () => record(ctx.res.statusCode));
    ctx.res.on('close', () => record(ctx.res.writableFinished ? ctx.res.statusCode : 'no_response'));

    const latency = state.faults.latencyMs(api.provider);
    if (latency > 0) await sleep(latency);

    if (match.kind === 'not_found') return api.sendError(ctx, 404, `No route for ${ctx.method} ${ctx.url.pathname}`);
    if (match.kind === 'method_not_allowed')
      return api.sendError(ctx, 405, `${ctx.method} is not allowed on ${match.template}`);
    ctx.params = match.params;

    if (!match.route.public) {
      if (!api.authenticate(ctx)) return;
      const waitMs = state.limits.check(api.provider, ctx.account as string);
      if (waitMs !== null) {
        return api.sendError(ctx, 429, 'Rate limit exceeded', { 'Retry-After': Math.max(1, Math.ceil(waitMs / 1000)) });
      }
      const fault = state.faults.roll(api.provider);
      if (fault?.kind === 'rate_limit') {
        return api.sendError(ctx, 429, 'Rate limit exceeded', { 'Retry-After': fault.retryAfterSeconds });
      }
      if (fault?.kind === 'error') {
        const headers = fault.retryAfterSeconds ? { 'Retry-After': fault.retryAfterSeconds } : undefined;
        return api.sendError(ctx, fault.status, `Injected fault: HTTP ${fault.status}`, headers);
      }
    }
    await match.route.handler(ctx);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const target = targetOf(url.pathname);
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return sendJson(res, 413, { error: 'request body too large' });
      throw e;
    }
    const ctx = makeContext(req, res, url, rawBody);
    if (target === null) return sendJson(res, 404, { error: `no sandbox route for ${url.pathname}` });
    if (target === 'control') return handleControl(ctx);
    try {
      await handleProvider(target, ctx);
    } catch (e) {
      console.error('[sandbox] handler failed', e);
      target.sendError(ctx, 500, 'Internal Server Error');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      console.error('[sandbox] request failed', e);
      sendJson(res, 500, { error: 'sandbox internal error' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const displayHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${displayHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        state.lifecycle.clear();
        for (const socket of heldSockets) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
