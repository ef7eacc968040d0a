import { controlBody, fail, lifecycleMove, nonEmpty } from '../control';
import { sendJson, type RouteDef } from '../http';
import { defineSandboxProvider } from '../sandbox-provider';
import { SERVICETITAN_PATH, serviceTitanApi } from './api';
import { applyServiceTitanAction } from './lifecycle';
import { ServiceTitanStore } from './store';
import { SERVICETITAN_ACTIONS, type ServiceTitanAction, type ServiceTitanRecords } from './types';

/** Control routes under /_sandbox/servicetitan. */
function controlRoutes(store: ServiceTitanStore): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/tenants',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        for (const f of ['tenantId', 'clientId', 'clientSecret', 'bookingProviderId']) {
          if (!nonEmpty(b[f])) return fail(ctx, 400, `${f} is required`);
        }
        const tenantId = String(b.tenantId);
        const bookingProviderId = String(b.bookingProviderId);
        // Both are int64 path segments at ServiceTitan.
        if (!/^\d+$/.test(tenantId)) return fail(ctx, 400, 'tenantId must be an integer');
        if (!/^\d+$/.test(bookingProviderId)) return fail(ctx, 400, 'bookingProviderId must be an integer');
        store.registerTenant(tenantId, String(b.clientId), String(b.clientSecret), bookingProviderId);
        sendJson(ctx.res, 201, { tenantId, clientId: String(b.clientId), bookingProviderId });
      },
    },
    {
      method: 'POST',
      path: '/bookings/{id}/{action}',
      handler: (ctx) => {
        const action = ctx.params.action as ServiceTitanAction;
        if (!SERVICETITAN_ACTIONS.includes(action)) return fail(ctx, 404, `unknown action ${action}`);
        if (!/^\d+$/.test(ctx.params.id)) return fail(ctx, 404, `booking ${ctx.params.id} not found`);
        lifecycleMove(ctx, (cents) => applyServiceTitanAction(store, Number(ctx.params.id), action, cents));
      },
    },
  ];
}

/** ServiceTitan: client-credentials tokens, bookings, jobs and invoices (providers.md section 1). */
export const serviceTitanSandbox = defineSandboxProvider({
  name: 'servicetitan',
  ownsPath: (pathname) => SERVICETITAN_PATH.test(pathname),
  create(env) {
    const store = new ServiceTitanStore();
    return {
      ...serviceTitanApi(store, env),
      controlRoutes: controlRoutes(store),
      records: (): ServiceTitanRecords => store.records(),
    };
  },
});
