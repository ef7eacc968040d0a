import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';

import { ServiceUnavailableError } from '../common/errors';
import { withDeadline } from '../redis/deadline';
import { PRIORITY } from './queues';

export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueStats {
  name: string;
  counts: Record<QueueState, number>;
  /** Worker connections consuming the queue, cluster-wide (BullMQ names them in CLIENT LIST). */
  workers: number;
  /** How long the job that has been ready the longest has waited; null when none waits. */
  oldestWaitingAgeMs: number | null;
}

/**
 * The age of the oldest job ready to run: the tail of the wait list (FIFO) and the head of each
 * priority we use in the prioritized set. The score encoding (priority * 2^32 + counter) is BullMQ's
 * own, as in its getCountsPerPriority script. A job becomes ready at its timestamp plus its delay, so
 * a retry scheduled an hour ahead does not count as an hour of waiting.
 */
const OLDEST_WAITING = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = nil
local function consider(id)
  if not id then return end
  local fields = redis.call('HMGET', ARGV[1] .. id, 'timestamp', 'delay')
  local readyAt = tonumber(fields[1])
  if not readyAt then return end
  readyAt = readyAt + (tonumber(fields[2]) or 0)
  if not oldest or readyAt < oldest then oldest = readyAt end
end
consider(redis.call('LINDEX', KEYS[1], -1))
for i = 2, #ARGV do
  local p = tonumber(ARGV[i])
  local ids = redis.call('ZRANGEBYSCORE', KEYS[2], p * 0x100000000, (p + 1) * 0x100000000 - 1, 'LIMIT', 0, 1)
  consider(ids[1])
end
if not oldest then return -1 end
return math.max(0, now - oldest)`;

/** The ioredis client of a queue or worker when it is connected now, else null (after at most `deadlineMs`). */
export async function readyClient(target: Queue | Worker, deadlineMs: number): Promise<Redis | null> {
  // BullMQ connects through ioredis (its client proxies every ioredis command).
  const client = (await withDeadline(target.getBackend().client, deadlineMs).catch(() => null)) as Redis | null;
  return client?.status === 'ready' ? client : null;
}

/**
 * Fails at once when the queue's connection is not up: BullMQ queues commands while Redis is away
 * and runs them when it is back, so a read would hang, and a write answered 503 now would happen later.
 */
export async function assertQueueConnected(queue: Queue, deadlineMs: number): Promise<Redis> {
  const client = await readyClient(queue, deadlineMs);
  if (!client) throw new ServiceUnavailableError(`Redis is unavailable (queue ${queue.name})`);
  return client;
}

/** Counts, workers and backlog age of one queue, or a 503 error after `deadlineMs`. */
export async function readQueueStats(queue: Queue, deadlineMs: number): Promise<QueueStats> {
  const started = Date.now();
  const client = await assertQueueConnected(queue, deadlineMs);
  const [counts, workers, oldest] = await withDeadline(
    Promise.all([
      queue.getJobCounts(...QUEUE_STATES),
      queue.getWorkersCount(),
      client.eval(
        OLDEST_WAITING,
        2,
        queue.keys.wait,
        queue.keys.prioritized,
        queue.toKey(''),
        ...Object.values(PRIORITY),
      ) as Promise<number>,
    ]),
    Math.max(1, deadlineMs - (Date.now() - started)),
  );
  return {
    name: queue.name,
    counts: Object.fromEntries(QUEUE_STATES.map((state) => [state, counts[state] ?? 0])) as QueueStats['counts'],
    workers,
    oldestWaitingAgeMs: Number(oldest) < 0 ? null : Number(oldest),
  };
}
