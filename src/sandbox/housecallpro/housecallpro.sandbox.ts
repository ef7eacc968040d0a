import { controlBody, fail, lifecycleMove, webhookUrl } from '../control';
import { sendJson, type RequestContext, type RouteDef } from '../http';
import { defineSandboxProvider, type SandboxEnv } from '../sandbox-provider';
import { HOUSECALLPRO_PATH, housecallProApi } from './api';
import { applyHousecallProAction } from './lifecycle';
import { HousecallProStore, addHistory } from './store';
import {
  HOUSECALLPRO_ACTIONS,
  type HcpLifecycleResult,
  type HousecallProAction,
  type HousecallProRecords,
} from './types';

type Move = (jobId: string, action: HousecallProAction, totalCents?: number) => HcpLifecycleResult;

const EVENTS: Record<HousecallProAction, string> = {
  schedule: 'job.scheduled',
  start: 'job.started',
  complete: 'job.completed',
  cancel: 'job.canceled',
};

/**
 * A lifecycle move that also sends the company's webhook: `{ event, company_id, job }` (providers.md
 * 2.6). HCP's signing scheme is unconfirmed, so none: the per-connection URL carries the secret.
 */
function movesWithWebhooks(store: HousecallProStore, env: SandboxEnv): Move {
  return (jobId, action, totalCents) => {
    const result = applyHousecallProAction(store, jobId, action, totalCents);
    const company = store.findJob(jobId)?.company;
    if (company?.webhookUrl) {
      const body = { event: EVENTS[action], company_id: company.companyId, job: result.job };
      env.sendWebhook({ url: company.webhookUrl, event: EVENTS[action], body: JSON.stringify(body) });
    }
    return result;
  };
}

/** A control body naming a company by its API key; answers 400 (and returns undefined) when it does not. */
function bodyWithApiKey(ctx: RequestContext): (Record<string, unknown> & { apiKey: string }) | undefined {
  const b = controlBody(ctx);
  if (!b) return undefined;
  if (typeof b.apiKey !== 'string' || !/^\S+$/.test(b.apiKey)) {
    fail(ctx, 400, 'apiKey is required (no spaces)');
    return undefined;
  }
  return b as Record<string, unknown> & { apiKey: string };
}

/** Control routes under /_sandbox/housecallpro. */
function controlRoutes(store: HousecallProStore, move: Move): RouteDef[] {
  return [
    {
      method: 'PUT',
      path: '/webhooks',
      handler: (ctx) => {
        const b = bodyWithApiKey(ctx);
        if (!b) return;
        const url = webhookUrl(ctx, b.url);
        if (url === undefined) return;
        const company = store.register(b.apiKey);
        company.webhookUrl = url;
        sendJson(ctx.res, 200, { keyId: company.keyId, companyId: company.companyId, url });
      },
    },
    {
      method: 'POST',
      path: '/companies',
      handler: (ctx) => {
        const b = bodyWithApiKey(ctx);
        if (!b) return;
        const company = store.register(b.apiKey);
        sendJson(ctx.res, 201, { apiKey: company.apiKey, keyId: company.keyId, companyId: company.companyId });
      },
    },
    {
      // Old, finished jobs of a company that no routing tracks (its history), stamped `updatedAt` (default 30 days
      // ago): what a change feed must not have to read again.
      method: 'POST',
      path: '/history',
      handler: (ctx) => {
        const b = bodyWithApiKey(ctx);
        if (!b) return;
        const count = b.count;
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100_000) {
          return fail(ctx, 400, 'count must be an integer from 1 to 100000');
        }
        const at = b.updatedAt === undefined ? Date.now() - 30 * 86_400_000 : Date.parse(String(b.updatedAt));
        if (Number.isNaN(at)) return fail(ctx, 400, 'updatedAt must be an ISO timestamp');
        const company = store.register(b.apiKey);
        addHistory(company, count, new Date(at).toISOString());
        sendJson(ctx.res, 201, { keyId: company.keyId, jobs: company.jobs.size });
      },
    },
    {
      method: 'POST',
      path: '/jobs/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as HousecallProAction;
        if (!HOUSECALLPRO_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        lifecycleMove(ctx, (cents) => move(ctx.params.id, action, cents));
      },
    },
  ];
}

/** Housecall Pro: api-key auth, customers, jobs, invoices, tags and lead sources (providers.md section 2). */
export const housecallProSandbox = defineSandboxProvider({
  name: 'housecallpro',
  ownsPath: (pathname) => HOUSECALLPRO_PATH.test(pathname),
  create(env) {
    const store = new HousecallProStore();
    const move = movesWithWebhooks(store, env);
    return {
      ...housecallProApi(store, env, {
        onJobCreated: (id) => env.planLifecycle((step, totalCents) => move(id, step, totalCents)),
      }),
      controlRoutes: controlRoutes(store, move),
      records: (): HousecallProRecords => store.records(),
    };
  },
});
