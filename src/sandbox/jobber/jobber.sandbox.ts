import { createHmac } from 'node:crypto';

import { controlBody, fail, lifecycleMove, nonEmpty, webhookUrl } from '../control';
import { isPlainObject, sendJson, type RequestContext, type RouteDef } from '../http';
import { defineSandboxProvider, type SandboxEnv } from '../sandbox-provider';
import { JOBBER_PATH, jobberApi } from './api';
import { applyJobberAction, type JobberChange } from './lifecycle';
import { DEFAULT_CLIENT_ID, JobberStore, type Account } from './store';
import { JOBBER_ACTIONS, type JobberAction, type JobberRecords, type JobberSettings } from './types';

/** Applies a settings update; returns an error message when it is invalid. */
function applySettings(current: JobberSettings, update: Record<string, unknown>): JobberSettings | string {
  const next = structuredClone(current);
  for (const key of [
    'accessTokenTtlSeconds',
    'authorizationCodeTtlSeconds',
    'maximumAvailable',
    'restoreRate',
  ] as const) {
    const v = update[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) return `${key} must be a positive number`;
    next[key] = v;
  }
  if (update.authorize !== undefined) {
    if (!isPlainObject(update.authorize)) return 'authorize must be { approve?, accountId? }';
    const { approve, accountId } = update.authorize;
    if (approve !== undefined) {
      if (typeof approve !== 'boolean') return 'authorize.approve must be a boolean';
      next.authorize.approve = approve;
    }
    if (accountId !== undefined) {
      if (accountId !== null && typeof accountId !== 'string') return 'authorize.accountId must be a string or null';
      next.authorize.accountId = accountId;
    }
  }
  return next;
}

/**
 * Sends a change to every app installed on the account that has a webhook URL: Jobber's payload
 * (providers.md 3.6) signed with X-Jobber-Hmac-SHA256 = base64(HMAC-SHA256(app client secret, raw body)).
 */
function announce(
  store: JobberStore,
  env: SandboxEnv,
  changes: JobberChange[],
  apps = (c: JobberChange) => store.appsOf(c.accountId),
): void {
  for (const change of changes) {
    for (const app of apps(change)) {
      if (!app.webhookUrl) continue;
      const body = JSON.stringify({
        data: {
          webHookEvent: {
            topic: change.topic,
            appId: app.appId,
            accountId: change.accountId,
            itemId: change.itemId,
            occurredAt: new Date().toISOString(),
          },
        },
      });
      const signature = createHmac('sha256', app.secret).update(body).digest('base64');
      env.sendWebhook({
        url: app.webhookUrl,
        event: change.topic,
        body,
        headers: { 'X-Jobber-Hmac-SHA256': signature },
      });
    }
  }
}

function controlRoutes(
  store: JobberStore,
  env: SandboxEnv,
  move: (requestId: string, action: JobberAction, cents?: number) => unknown,
): RouteDef[] {
  const withAccount = (ctx: RequestContext, fn: (account: Account) => void) => {
    const account = store.accounts.get(ctx.params.id);
    if (!account) return fail(ctx, 404, `account ${ctx.params.id} not found`);
    fn(account);
  };
  return [
    { method: 'GET', path: '/settings', handler: (ctx) => sendJson(ctx.res, 200, store.settings) },
    {
      method: 'PUT',
      path: '/settings',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        const next = applySettings(store.settings, b);
        if (typeof next === 'string') return fail(ctx, 400, next);
        if (next.authorize.accountId && !store.accounts.has(next.authorize.accountId)) {
          return fail(ctx, 404, `account ${next.authorize.accountId} not found`);
        }
        store.settings = next;
        sendJson(ctx.res, 200, store.settings);
      },
    },
    {
      method: 'POST',
      path: '/apps',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        if (!nonEmpty(b.clientId) || !nonEmpty(b.clientSecret))
          return fail(ctx, 400, 'clientId and clientSecret are required');
        sendJson(ctx.res, 201, store.registerApp(String(b.clientId), String(b.clientSecret)));
      },
    },
    {
      method: 'PUT',
      path: '/webhooks',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        const clientId = b.clientId === undefined ? DEFAULT_CLIENT_ID : String(b.clientId);
        const app = store.apps.get(clientId);
        if (!app) return fail(ctx, 404, `app ${clientId} not found`);
        const url = webhookUrl(ctx, b.url);
        if (url === undefined) return;
        app.webhookUrl = url;
        sendJson(ctx.res, 200, { clientId, appId: app.appId, webhookUrl: url });
      },
    },
    {
      method: 'POST',
      path: '/accounts',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        if (b.name !== undefined && !nonEmpty(b.name)) return fail(ctx, 400, 'name must be a non-empty string');
        sendJson(
          ctx.res,
          201,
          store.accountView(store.createAccount(b.name === undefined ? undefined : String(b.name))),
        );
      },
    },
    {
      method: 'GET',
      path: '/accounts',
      handler: (ctx) =>
        sendJson(
          ctx.res,
          200,
          [...store.accounts.values()].map((a) => store.accountView(a)),
        ),
    },
    {
      method: 'GET',
      path: '/accounts/{id}',
      handler: (ctx) => withAccount(ctx, (a) => sendJson(ctx.res, 200, store.accountView(a))),
    },
    {
      method: 'POST',
      path: '/accounts/{id}/expire-tokens',
      handler: (ctx) => withAccount(ctx, (a) => sendJson(ctx.res, 200, { expired: store.expireAccessTokens(a.id) })),
    },
    {
      method: 'POST',
      path: '/accounts/{id}/disconnect',
      handler: (ctx) =>
        withAccount(ctx, (a) => {
          const revoked = store.revokeGrants(a.id);
          const apps = [...new Set(revoked.map((g) => g.clientId))].map((id) => store.apps.get(id));
          const disconnect = { topic: 'APP_DISCONNECT', accountId: a.id, itemId: a.id };
          announce(store, env, [disconnect], () => apps.filter((app) => app !== undefined));
          sendJson(ctx.res, 200, { revokedGrants: revoked.map((g) => g.grantId) });
        }),
    },
    {
      method: 'POST',
      path: '/accounts/{id}/user-errors',
      handler: (ctx) =>
        withAccount(ctx, (a) => {
          const b = controlBody(ctx);
          if (!b) return;
          const message = b.message ?? 'Sandbox: this mutation was refused';
          const count = b.count ?? 1;
          if (typeof message !== 'string' || message === '')
            return fail(ctx, 400, 'message must be a non-empty string');
          if (!Number.isInteger(count) || (count as number) < 1)
            return fail(ctx, 400, 'count must be a positive integer');
          for (let i = 0; i < (count as number); i++) a.pendingUserErrors.push(message);
          sendJson(ctx.res, 200, store.accountView(a));
        }),
    },
    {
      method: 'POST',
      path: '/requests/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as JobberAction;
        if (!JOBBER_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        lifecycleMove(ctx, (cents) => move(ctx.params.id, action, cents));
      },
    },
  ];
}

/** Jobber: OAuth with rotating refresh tokens, GraphQL with query cost (providers.md section 3). */
export const jobberSandbox = defineSandboxProvider({
  name: 'jobber',
  ownsPath: (pathname) => JOBBER_PATH.test(pathname),
  // The documented DDoS guard: 2500 requests per 300 s per account (providers.md 3.4).
  defaultLimits: { window: { requests: 2500, seconds: 300 } },
  create(env: SandboxEnv) {
    const store = new JobberStore();
    const move = (requestId: string, action: JobberAction, cents?: number) => {
      const changes: JobberChange[] = [];
      const result = applyJobberAction(store, requestId, action, cents, changes);
      announce(store, env, changes);
      return result;
    };
    const autoMoves = { schedule: 'convert', start: 'start', complete: 'complete', cancel: 'archive' } as const;
    return {
      ...jobberApi(store, env, {
        onRequestCreated: (request) =>
          env.planLifecycle((step, cents) => move(request.id, autoMoves[step], cents), { cancelFirst: true }),
      }),
      controlRoutes: controlRoutes(store, env, move),
      records: (): JobberRecords => store.records(),
    };
  },
});
