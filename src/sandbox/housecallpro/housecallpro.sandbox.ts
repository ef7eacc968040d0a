import { controlBody, fail, lifecycleMove } from '../control';
import { sendJson, type RouteDef } from '../http';
import { defineSandboxProvider } from '../sandbox-provider';
import { HOUSECALLPRO_PATH, housecallProApi } from './api';
import { applyHousecallProAction } from './lifecycle';
import { HousecallProStore } from './store';
import { HOUSECALLPRO_ACTIONS, type HousecallProAction, type HousecallProRecords } from './types';

/** Control routes under /_sandbox/housecallpro. */
function controlRoutes(store: HousecallProStore): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/companies',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        if (typeof b.apiKey !== 'string' || !/^\S+$/.test(b.apiKey)) {
          return fail(ctx, 400, 'apiKey is required (no spaces)');
        }
        const company = store.register(b.apiKey);
        sendJson(ctx.res, 201, { apiKey: company.apiKey, keyId: company.keyId, companyId: company.companyId });
      },
    },
    {
      method: 'POST',
      path: '/jobs/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as HousecallProAction;
        if (!HOUSECALLPRO_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        lifecycleMove(ctx, (cents) => applyHousecallProAction(store, ctx.params.id, action, cents));
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
    return {
      ...housecallProApi(store, env),
      controlRoutes: controlRoutes(store),
      records: (): HousecallProRecords => store.records(),
    };
  },
});
