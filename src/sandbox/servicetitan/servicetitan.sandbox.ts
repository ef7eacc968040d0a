import { randomUUID } from 'node:crypto';

import { controlBody, fail, lifecycleMove, nonEmpty, webhookUrl } from '../control';
import { sendJson, type RouteDef } from '../http';
import { defineSandboxProvider, type SandboxEnv } from '../sandbox-provider';
import { SERVICETITAN_PATH, serviceTitanApi } from './api';
import { applyServiceTitanAction } from './lifecycle';
import { ServiceTitanStore } from './store';
import {
  SERVICETITAN_ACTIONS,
  type ServiceTitanAction,
  type ServiceTitanRecords,
  type StLifecycleResult,
} from './types';

type Move = (bookingId: number, action: ServiceTitanAction, totalCents?: number) => StLifecycleResult;

const EVENT_TYPES: Record<ServiceTitanAction, string> = {
  dismiss: 'Booking.Dismissed',
  convert: 'Job.Created',
  schedule: 'Job.Scheduled',
  start: 'Job.Started',
  hold: 'Job.OnHold',
  complete: 'Job.Completed',
  cancel: 'Job.Canceled',
};

/**
 * A lifecycle move that also sends the tenant's webhook. ServiceTitan's V2 payload is unconfirmed
 * (providers.md 1.6); this is the shape SPEC section 10 accepts. No signature: the per-connection URL
 * carries the secret.
 */
function movesWithWebhooks(store: ServiceTitanStore, env: SandboxEnv): Move {
  return (bookingId, action, totalCents) => {
    const result = applyServiceTitanAction(store, bookingId, action, totalCents);
    const tenantId = store.bookings.get(bookingId)?.tenantId as string;
    const url = store.webhookUrls.get(tenantId);
    if (url) {
      const data = result.job
        ? { id: result.job.id, jobId: result.job.id, bookingId: result.booking.id }
        : { id: result.booking.id, bookingId: result.booking.id };
      const event = EVENT_TYPES[action];
      const body = {
        eventId: randomUUID(),
        eventType: event,
        tenantId: Number(tenantId),
        createdOn: new Date().toISOString(),
        data,
      };
      env.sendWebhook({ url, event, body: JSON.stringify(body) });
    }
    return result;
  };
}

/** Control routes under /_sandbox/servicetitan. */
function controlRoutes(store: ServiceTitanStore, move: Move): RouteDef[] {
  return [
    {
      method: 'PUT',
      path: '/webhooks',
      handler: (ctx) => {
        const b = controlBody(ctx);
        if (!b) return;
        if (!nonEmpty(b.tenantId) || !/^\d+$/.test(String(b.tenantId)))
          return fail(ctx, 400, 'tenantId must be an integer');
        const url = webhookUrl(ctx, b.url);
        if (url === undefined) return;
        const tenantId = String(b.tenantId);
        if (url === null) store.webhookUrls.delete(tenantId);
        else store.webhookUrls.set(tenantId, url);
        sendJson(ctx.res, 200, { tenantId, url });
      },
    },
    {
      method: 'GET',
      path: '/webhooks',
      handler: (ctx) =>
        sendJson(
          ctx.res,
          200,
          [...store.webhookUrls].map(([tenantId, url]) => ({ tenantId, url })),
        ),
    },
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
        lifecycleMove(ctx, (cents) => move(Number(ctx.params.id), action, cents));
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
    const move = movesWithWebhooks(store, env);
    return {
      ...serviceTitanApi(store, env, {
        onBookingCreated: (id) => env.planLifecycle((step, totalCents) => move(id, step, totalCents)),
      }),
      controlRoutes: controlRoutes(store, move),
      records: (): ServiceTitanRecords => store.records(),
    };
  },
});
