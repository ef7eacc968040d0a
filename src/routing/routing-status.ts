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
