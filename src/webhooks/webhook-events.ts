import type { JobChange } from '../routing/job-aggregate';
import type { RoutingChange } from '../routing/routing-lifecycle';

/** Outbound event types (SPEC section 11). */
export const WEBHOOK_EVENT_TYPES = [
  'routing.synced',
  'routing.status_changed',
  'routing.completed',
  'routing.canceled',
  'routing.permanently_failed',
  'job.completed',
  'job.canceled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const ROUTING_FINAL_EVENTS: Partial<Record<RoutingChange['to'], WebhookEventType>> = {
  completed: 'routing.completed',
  canceled: 'routing.canceled',
  permanently_failed: 'routing.permanently_failed',
};

/**
 * The events one routing change causes. `routing.status_changed` is a move of the normalized provider status
 * between two known values: the first one (`received`, set when the routing is synced) comes with `routing.synced`.
 */
export function routingEventTypes(change: RoutingChange): WebhookEventType[] {
  const types: WebhookEventType[] = [];
  if (change.to === 'synced' && change.from !== 'synced') types.push('routing.synced');
  const provider = change.providerStatus;
  if (provider && provider.from !== null && provider.from !== provider.to) types.push('routing.status_changed');
  const final = ROUTING_FINAL_EVENTS[change.to];
  if (final && change.from !== change.to) types.push(final);
  return types;
}

export function jobEventTypes(change: JobChange): WebhookEventType[] {
  if (change.from === change.to) return [];
  if (change.to === 'completed') return ['job.completed'];
  if (change.to === 'canceled') return ['job.canceled'];
  return [];
}

/** An endpoint's subscription: every type when it named none. */
export function subscribes(events: readonly string[], type: WebhookEventType): boolean {
  return events.length === 0 || events.includes(type);
}
