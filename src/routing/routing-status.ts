export const ROUTING_STATUSES = [
  'pending',
  'syncing',
  'synced',
  'completed',
  'canceled',
  'failed',
  'permanently_failed',
] as const;
export type RoutingStatus = (typeof ROUTING_STATUSES)[number];

/** Statuses after which nothing more happens to a routing unless an admin retries it. */
export const FINAL_ROUTING_STATUSES: readonly RoutingStatus[] = ['completed', 'canceled', 'permanently_failed'];
