import { resolveFaults, resolveLimits } from './faults';
import { isPlainObject, sendJson, type RequestContext, type RouteDef } from './http';
import { LifecycleError, applyHousecallProAction, applyServiceTitanAction } from './lifecycle';
import {
  HOUSECALLPRO_ACTIONS,
  SANDBOX_PROVIDERS,
  SERVICETITAN_ACTIONS,
  type HousecallProAction,
  type SandboxProvider,
  type SandboxRecords,
  type ServiceTitanAction,
} from './sandbox.types';
import { applyOptionsUpdate, type SandboxState } from './state';

const fail = (ctx: RequestContext, status: number, error: string): void => sendJson(ctx.res, status, { error });

function body(ctx: RequestContext): Record<string, unknown> | null {
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

function providerParam(ctx: RequestContext, value: string | null): SandboxProvider | null | undefined {
  if (value === null || value === '') return undefined;
  if ((SANDBOX_PROVIDERS as string[]).includes(value)) return value as SandboxProvider;
  fail(ctx, 400, `provider must be one of ${SANDBOX_PROVIDERS.join(', ')}`);
  return null;
}

function totalCents(ctx: RequestContext, b: Record<string, unknown>): number | undefined | null {
  const v = b.totalCents;
  if (v === undefined || v === null) return undefined;
  if (Number.isSafeInteger(v) && (v as number) >= 0) return v as number;
  fail(ctx, 400, 'totalCents must be a non-negative integer');
  return null;
}

function nonEmpty(v: unknown): v is string | number {
  return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));
}

/** The control API under /_sandbox: no auth, never counted in stats, never faulted. */
export function controlRoutes(state: SandboxState): RouteDef[] {
  const lifecycle = (ctx: RequestContext, run: (totalCents: number | undefined) => unknown) => {
    const b = body(ctx);
    if (!b) return;
    const cents = totalCents(ctx, b);
    if (cents === null) return;
    try {
      sendJson(ctx.res, 200, run(cents));
    } catch (e) {
      if (e instanceof LifecycleError) return fail(ctx, e.status, e.message);
      throw e;
    }
  };

  const perProvider = (
    path: 'faults' | 'limits',
    get: (p: SandboxProvider) => unknown,
    set: (p: SandboxProvider, b: Record<string, unknown>) => string | null,
    clear: (p: SandboxProvider) => void,
  ): RouteDef[] => {
    const withProvider = (ctx: RequestContext, fn: (p: SandboxProvider) => void) => {
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
            const b = body(ctx);
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
      handler: (ctx) => sendJson(ctx.res, 200, { ok: true, providers: SANDBOX_PROVIDERS }),
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
        const b = body(ctx);
        if (!b) return;
        const next = applyOptionsUpdate(state.options, b);
        if (typeof next === 'string') return fail(ctx, 400, next);
        state.options = next;
        sendJson(ctx.res, 200, state.options);
      },
    },
    {
      method: 'POST',
      path: '/_sandbox/servicetitan/tenants',
      handler: (ctx) => {
        const b = body(ctx);
        if (!b) return;
        for (const f of ['tenantId', 'clientId', 'clientSecret', 'bookingProviderId']) {
          if (!nonEmpty(b[f])) return fail(ctx, 400, `${f} is required`);
        }
        const tenantId = String(b.tenantId);
        const bookingProviderId = String(b.bookingProviderId);
        // Both are int64 path segments at ServiceTitan.
        if (!/^\d+$/.test(tenantId)) return fail(ctx, 400, 'tenantId must be an integer');
        if (!/^\d+$/.test(bookingProviderId)) return fail(ctx, 400, 'bookingProviderId must be an integer');
        state.st.registerTenant(tenantId, String(b.clientId), String(b.clientSecret), bookingProviderId);
        sendJson(ctx.res, 201, { tenantId, clientId: String(b.clientId), bookingProviderId });
      },
    },
    {
      method: 'POST',
      path: '/_sandbox/housecallpro/companies',
      handler: (ctx) => {
        const b = body(ctx);
        if (!b) return;
        if (typeof b.apiKey !== 'string' || !/^\S+$/.test(b.apiKey))
          return fail(ctx, 400, 'apiKey is required (no spaces)');
        const company = state.hcp.register(b.apiKey);
        sendJson(ctx.res, 201, { apiKey: company.apiKey, companyId: company.companyId });
      },
    },
    {
      method: 'GET',
      path: '/_sandbox/records',
      handler: (ctx) => {
        const provider = providerParam(ctx, ctx.url.searchParams.get('provider'));
        if (provider === null) return;
        const records: SandboxRecords = {};
        if (provider !== 'housecallpro') records.servicetitan = state.st.records();
        if (provider !== 'servicetitan') records.housecallpro = state.hcp.records();
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
      method: 'POST',
      path: '/_sandbox/servicetitan/bookings/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as ServiceTitanAction;
        if (!SERVICETITAN_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        if (!/^\d+$/.test(ctx.params.id)) return fail(ctx, 404, `booking ${ctx.params.id} not found`);
        lifecycle(ctx, (cents) => applyServiceTitanAction(state.st, Number(ctx.params.id), action, cents));
      },
    },
    {
      method: 'POST',
      path: '/_sandbox/housecallpro/jobs/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as HousecallProAction;
        if (!HOUSECALLPRO_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        lifecycle(ctx, (cents) => applyHousecallProAction(state.hcp, ctx.params.id, action, cents));
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
