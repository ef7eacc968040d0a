import { resolveFaults, resolveLimits } from './faults';
import { isPlainObject, sendJson, type RequestContext, type RouteDef } from './http';
import { LifecycleError } from './lifecycle';
import { applyOptionsUpdate, type SandboxState } from './state';

/** Shared control paths: a provider may not take one of these as its name. */
export const RESERVED_CONTROL_SEGMENTS = [
  'reset',
  'options',
  'records',
  'stats',
  'requests',
  'faults',
  'limits',
  'webhooks',
];

export const fail = (ctx: RequestContext, status: number, error: string): void => sendJson(ctx.res, status, { error });

/** The control request's JSON object body ({} when empty); answers 400 itself and returns null otherwise. */
export function controlBody(ctx: RequestContext): Record<string, unknown> | null {
  if (ctx.rawBody.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(ctx.rawBody);
    if (isPlainObject(parsed)) return parsed;
  } catch {
    // fall through
  }
  fail(ctx, 400, 'body must be a JSON object');
  return null;
}

/** A webhook URL from the control API: http(s), or null to unsubscribe; answers 400 itself (undefined). */
export function webhookUrl(ctx: RequestContext, value: unknown): string | null | undefined {
  if (value === null) return null;
  try {
    if (typeof value === 'string' && /^https?:$/.test(new URL(value).protocol)) return value;
  } catch {
    // answered below
  }
  fail(ctx, 400, 'url must be an http(s) URL, or null to unsubscribe');
  return undefined;
}

export function nonEmpty(v: unknown): v is string | number {
  return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Runs a lifecycle move from the control API: the body may carry `totalCents` (the completed job's
 * revenue); LifecycleError becomes its 404/409.
 */
export function lifecycleMove(ctx: RequestContext, run: (totalCents: number | undefined) => unknown): void {
  const b = controlBody(ctx);
  if (!b) return;
  let cents: number | undefined;
  if (b.totalCents !== undefined && b.totalCents !== null) {
    if (!(Number.isSafeInteger(b.totalCents) && (b.totalCents as number) >= 0)) {
      return fail(ctx, 400, 'totalCents must be a non-negative integer');
    }
    cents = b.totalCents as number;
  }
  try {
    sendJson(ctx.res, 200, run(cents));
  } catch (e) {
    if (e instanceof LifecycleError) return fail(ctx, e.status, e.message);
    throw e;
  }
}

/** The shared control API under /_sandbox: no auth, never counted in stats, never faulted. */
export function controlRoutes(state: SandboxState): RouteDef[] {
  const names = [...state.providers.keys()];

  function providerParam(ctx: RequestContext, value: string | null): string | null | undefined {
    if (value === null || value === '') return undefined;
    if (state.providers.has(value)) return value;
    fail(ctx, 400, `provider must be one of ${names.join(', ')}`);
    return null;
  }

  const perProvider = (
    path: 'faults' | 'limits',
    get: (p: string) => unknown,
    set: (p: string, b: Record<string, unknown>) => string | null,
    clear: (p: string) => void,
  ): RouteDef[] => {
    const withProvider = (ctx: RequestContext, fn: (p: string) => void) => {
      const provider = providerParam(ctx, ctx.params.provider);
      if (provider) fn(provider);
      else if (provider === undefined) fail(ctx, 400, 'provider is required');
    };
    return [
      {
        method: 'GET',
        path: `/_sandbox/${path}/{provider}`,
        handler: (ctx) => withProvider(ctx, (p) => sendJson(ctx.res, 200, get(p) ?? {})),
      },
      {
        method: 'PUT',
        path: `/_sandbox/${path}/{provider}`,
        handler: (ctx) =>
          withProvider(ctx, (p) => {
            const b = controlBody(ctx);
            if (!b) return;
            const error = set(p, b);
            if (error) return fail(ctx, 400, error);
            sendJson(ctx.res, 200, get(p));
          }),
      },
      {
        method: 'DELETE',
        path: `/_sandbox/${path}/{provider}`,
        handler: (ctx) =>
          withProvider(ctx, (p) => {
            clear(p);
            sendJson(ctx.res, 200, {});
          }),
      },
    ];
  };

  return [
    {
      method: 'GET',
      path: '/_sandbox',
      handler: (ctx) => sendJson(ctx.res, 200, { ok: true, providers: names }),
    },
    {
      method: 'POST',
      path: '/_sandbox/reset',
      handler: (ctx) => {
        state.reset();
        sendJson(ctx.res, 200, { ok: true });
      },
    },
    { method: 'GET', path: '/_sandbox/options', handler: (ctx) => sendJson(ctx.res, 200, state.options) },
    {
      method: 'PUT',
      path: '/_sandbox/options',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        const next = applyOptionsUpdate(state.options, b);
        if (typeof next === 'string') return fail(ctx, 400, next);
        state.options = next;
        sendJson(ctx.res, 200, state.options);
      },
    },
    {
      method: 'GET',
      path: '/_sandbox/records',
      handler: (ctx) => {
        const provider = providerParam(ctx, ctx.url.searchParams.get('provider'));
        if (provider === null) return;
        const records: Record<string, unknown> = {};
        for (const [name, { instance }] of state.providers) {
          if (provider === undefined || provider === name) records[name] = instance.records();
        }
        sendJson(ctx.res, 200, records);
      },
    },
    { method: 'GET', path: '/_sandbox/stats', handler: (ctx) => sendJson(ctx.res, 200, state.stats.snapshot()) },
    {
      method: 'DELETE',
      path: '/_sandbox/stats',
      handler: (ctx) => {
        state.stats.reset();
        sendJson(ctx.res, 200, state.stats.snapshot());
      },
    },
    {
      method: 'GET',
      path: '/_sandbox/requests',
      handler: (ctx) => {
        const provider = providerParam(ctx, ctx.url.searchParams.get('provider'));
        if (provider === null) return;
        const limitParam = ctx.url.searchParams.get('limit');
        const limit = limitParam && /^\d+$/.test(limitParam) ? Number(limitParam) : 100;
        sendJson(ctx.res, 200, { requests: state.stats.requests(provider ?? null, limit) });
      },
    },
    {
      method: 'GET',
      path: '/_sandbox/webhooks/deliveries',
      handler: (ctx) => {
        const provider = providerParam(ctx, ctx.url.searchParams.get('provider'));
        if (provider === null) return;
        const limitParam = ctx.url.searchParams.get('limit');
        const limit = limitParam && /^\d+$/.test(limitParam) ? Number(limitParam) : 100;
        sendJson(ctx.res, 200, { deliveries: state.webhooks.deliveries(provider ?? null, limit) });
      },
    },
    {
      method: 'DELETE',
      path: '/_sandbox/webhooks/deliveries',
      handler: (ctx) => {
        state.webhooks.clearLog();
        sendJson(ctx.res, 200, { deliveries: [] });
      },
    },
    {
      method: 'GET',
      path: '/_sandbox/webhooks/options',
      handler: (ctx) => sendJson(ctx.res, 200, state.webhooks.options),
    },
    {
      method: 'PUT',
      path: '/_sandbox/webhooks/options',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        const next = { ...state.webhooks.options };
        if (b.duplicates !== undefined) {
          if (typeof b.duplicates !== 'boolean') return fail(ctx, 400, 'duplicates must be a boolean');
          next.duplicates = b.duplicates;
        }
        if (b.timeoutMs !== undefined) {
          if (!Number.isInteger(b.timeoutMs) || (b.timeoutMs as number) < 1) {
            return fail(ctx, 400, 'timeoutMs must be a positive integer');
          }
          next.timeoutMs = b.timeoutMs as number;
        }
        state.webhooks.options = next;
        sendJson(ctx.res, 200, next);
      },
    },
    ...perProvider(
      'faults',
      (p) => state.faults.get(p),
      (p, b) => {
        const faults = resolveFaults(b);
        if (typeof faults === 'string') return faults;
        state.faults.set(p, faults);
        return null;
      },
      (p) => state.faults.clear(p),
    ),
    ...perProvider(
      'limits',
      (p) => state.limits.get(p),
      (p, b) => {
        const limits = resolveLimits(b);
        if (typeof limits === 'string') return limits;
        state.limits.set(p, limits);
        return null;
      },
      (p) => state.limits.clear(p),
    ),
  ];
}
