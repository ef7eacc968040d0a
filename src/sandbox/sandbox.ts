import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { RESERVED_CONTROL_SEGMENTS, controlRoutes } from './control';
import { BodyTooLargeError, Router, readBody, sendJson, sleep, type RequestContext } from './http';
import { SANDBOX_PROVIDERS } from './providers';
import type { SandboxProviderDefinition, SandboxProviderInstance } from './sandbox-provider';
import { SandboxState, applyOptionsUpdate, type LiveProvider } from './state';

export interface SandboxOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  autoLifecycle?: boolean | { completeAfterMs: number };
  /** Default true: unknown client credentials and api keys are registered on first use. */
  autoRegister?: boolean;
  /** Default 900, as ServiceTitan's client-credentials tokens. */
  tokenTtlSeconds?: number;
  /** The providers to serve; default all registered ones (providers.ts). Tests may add their own. */
  providers?: readonly SandboxProviderDefinition[];
}

export interface RunningSandbox {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long a timeout-after-create request is held before its socket is dropped. */
const HOLD_MS = 60_000;

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

  const definitions = options.providers ?? SANDBOX_PROVIDERS;
  for (const { name } of definitions) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || RESERVED_CONTROL_SEGMENTS.includes(name)) {
      throw new Error(`invalid sandbox provider name: ${name}`);
    }
  }
  const state = new SandboxState(definitions, defaults);
  const control = new Router(controlRoutes(state));
  // Routers are compiled once per provider instance (instances are replaced on reset).
  const apiRouters = new WeakMap<SandboxProviderInstance, Router>();
  const controlRouters = new WeakMap<SandboxProviderInstance, Router>();
  const routerOf = (
    cache: WeakMap<SandboxProviderInstance, Router>,
    instance: SandboxProviderInstance,
    routes: () => Router,
  ) => {
    let router = cache.get(instance);
    if (!router) cache.set(instance, (router = routes()));
    return router;
  };
  const heldSockets = new Set<Socket>();

  function targetOf(pathname: string): LiveProvider | 'control' | null {
    if (pathname === '/_sandbox' || pathname.startsWith('/_sandbox/')) return 'control';
    for (const live of state.providers.values()) if (live.definition.ownsPath(pathname)) return live;
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
      credential: null,
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
    // /_sandbox/<provider>/… belongs to that provider's control routes, the rest to the shared ones.
    const [, , segment] = ctx.url.pathname.split('/');
    const provider = segment ? state.providers.get(segment) : undefined;
    const router = provider
      ? routerOf(controlRouters, provider.instance, () => {
          const prefix = `/_sandbox/${provider.definition.name}`;
          return new Router(provider.instance.controlRoutes.map((r) => ({ ...r, path: `${prefix}${r.path}` })));
        })
      : control;
    const match = router.match(ctx.method, ctx.url.pathname);
    if (match.kind === 'not_found') return sendJson(ctx.res, 404, { error: `no control route ${ctx.url.pathname}` });
    if (match.kind === 'method_not_allowed') return sendJson(ctx.res, 405, { error: `${ctx.method} not allowed here` });
    ctx.params = match.params;
    await match.route.handler(ctx);
  }

  async function handleProvider({ definition, instance: api }: LiveProvider, ctx: RequestContext): Promise<void> {
    const provider = definition.name;
    const match = routerOf(apiRouters, api, () => new Router(api.routes)).match(ctx.method, ctx.url.pathname);
    const route = match.kind === 'found' ? match.route : null;
    const routeName = `${ctx.method} ${route?.path ?? (match.kind === 'method_not_allowed' ? match.template : '(unmatched)')}`;
    const startedAt = Date.now();
    let recorded = false;
    const record = (status: number | 'no_response') => {
      if (recorded) return;
      recorded = true;
      state.stats.record({
        provider,
        method: ctx.method,
        path: ctx.url.pathname + ctx.url.search,
        route: routeName,
        status,
        startedAt,
        account: ctx.account,
        credential: ctx.credential,
        headers: ctx.req.headers,
        tokenRequest: route?.public === true,
      });
    };
    ctx.res.on('finish', () => record(ctx.res.statusCode));
    ctx.res.on('close', () => record(ctx.res.writableFinished ? ctx.res.statusCode : 'no_response'));

    const latency = state.faults.latencyMs(provider);
    if (latency > 0) await sleep(latency);

    if (match.kind === 'not_found') return api.sendError(ctx, 404, `No route for ${ctx.method} ${ctx.url.pathname}`);
    if (match.kind === 'method_not_allowed')
      return api.sendError(ctx, 405, `${ctx.method} is not allowed on ${match.template}`);
    ctx.params = match.params;

    if (!match.route.public) {
      if (!api.authenticate(ctx)) return;
      const waitMs = state.limits.check(provider, ctx.account as string);
      if (waitMs !== null) {
        return api.sendError(ctx, 429, 'Rate limit exceeded', { 'Retry-After': Math.max(1, Math.ceil(waitMs / 1000)) });
      }
      const fault = state.faults.roll(provider);
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
      target.instance.sendError(ctx, 500, 'Internal Server Error');
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
        state.close();
        state.webhooks.abort();
        for (const socket of heldSockets) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
