import { JobsOptions } from 'bullmq';

/** Queue names (SPEC section 7). */
export const QUEUE = {
  sync: 'sync',
  poll: 'poll',
  retry: 'retry',
  cleanup: 'cleanup',
  default: 'default',
} as const;
export const QUEUE_NAMES = Object.values(QUEUE);

/** Injection token: all queues (`Queue[]`), in QUEUE order. */
export const ALL_QUEUES = Symbol('ALL_QUEUES');

export const JOB = {
  syncRouting: 'sync-routing',
  pollConnection: 'poll-connection',
  runCleanup: 'run-cleanup',
  runSweep: 'run-sweep',
} as const;

/** BullMQ: lower number = higher priority. */
export const PRIORITY = { high: 1, medium: 5, low: 10 } as const;

export interface SyncRoutingData {
  routingId: string;
  requestId?: string;
}

export const SWEEP_NAMES = ['sync', 'poll', 'retry', 'cleanup'] as const;
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
