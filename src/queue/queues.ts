import { JobsOptions } from 'bullmq';

/** Queue names (SPEC section 7). */
export const QUEUE = {
  sync: 'sync',
  poll: 'poll',
  retry: 'retry',
  cleanup: 'cleanup',
  default: 'default',
  webhooks: 'webhooks',
  providerWebhooks: 'provider-webhooks',
} as const;
export const QUEUE_NAMES = Object.values(QUEUE);

/** Injection token: all queues (`Queue[]`), in QUEUE order. */
export const ALL_QUEUES = Symbol('ALL_QUEUES');

export const JOB = {
  syncRouting: 'sync-routing',
  pollConnection: 'poll-connection',
  runCleanup: 'run-cleanup',
  runSweep: 'run-sweep',
  deliverWebhook: 'deliver-webhook',
  handleProviderWebhook: 'handle-provider-webhook',
} as const;

/** BullMQ: lower number = higher priority. */
export const PRIORITY = { high: 1, medium: 5, low: 10 } as const;

export interface SyncRoutingData {
  routingId: string;
  requestId?: string;
}

export const SWEEP_NAMES = ['sync', 'poll', 'retry', 'cleanup', 'webhooks'] as const;
export type SweepName = (typeof SWEEP_NAMES)[number];

export interface RunSweepData {
  name: SweepName;
  sweepId: string;
  requestId?: string;
}

export interface PollConnectionData {
  connectionId: string;
  sweepId: string;
}

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  // The database holds the state and the retry schedule; BullMQ only carries work.
  attempts: 1,
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/**
 * The sync job for a routing: its id is the routing id, so a routing is queued at most once at a time.
 * Finished jobs are removed at once so the id is free for the next attempt (the routing's events keep the history).
 */
export function syncJob(routingId: string, priority: number, requestId?: string) {
  return {
    name: JOB.syncRouting,
    data: { routingId, requestId } satisfies SyncRoutingData,
    opts: { jobId: routingId, priority, removeOnComplete: true, removeOnFail: true },
  };
}

export interface DeliverWebhookData {
  deliveryId: string;
  /** The attempt this job makes (the delivery's attempts + 1 when it was queued). */
  attempt: number;
}

/**
 * One attempt of one webhook delivery: the id names the delivery and the attempt, so the dispatcher, a redelivery
 * and the webhooks sweep queue each attempt at most once. Finished jobs are removed (the attempt log keeps history).
 */
export function deliverWebhookJob(deliveryId: string, attempt: number, delayMs = 0) {
  return {
    name: JOB.deliverWebhook,
    data: { deliveryId, attempt } satisfies DeliverWebhookData,
    opts: {
      jobId: webhookJobId(deliveryId, attempt),
      delay: Math.max(0, delayMs),
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

export function webhookJobId(deliveryId: string, attempt: number): string {
  return `webhook_${deliveryId}_${attempt}`;
}

/**
 * The work one inbound provider webhook event leaves for a worker (SPEC section 10): re-read the status of routings
 * it names, map a provider item (a job, a visit) to its routing first, or invalidate disconnected connections.
 */
export type ProviderWebhookData = { provider: string; topic: string; requestId?: string } & (
  | { kind: 'refresh'; connectionId: string; routingIds: string[] }
  | { kind: 'resolve'; connectionIds: string[]; item: { type: string; id: string } }
  | { kind: 'disconnect'; connectionIds: string[] }
);
