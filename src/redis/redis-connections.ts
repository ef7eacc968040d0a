import { EventEmitter } from 'node:events';

import { Logger } from '@nestjs/common';
import { QueueBase } from 'bullmq';

import { AvailabilityLog } from '../logging/availability-log';

const logger = new Logger('Redis');

// What ioredis and BullMQ report while Redis is unreachable (each retry reports it again).
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection is closed|Stream isn't writeable|max retries per request|Socket closed unexpectedly/i;

export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return CONNECTION_ERROR.test(`${code ?? ''} ${message ?? ''}`);
}

/**
 * Listens to a Redis connection's errors: one JSON line when it goes down and one when it is back,
 * however often it retries meanwhile; any other error is logged once each. Without an `error`
 * listener ioredis and BullMQ print raw stack traces to stderr, once per reconnect attempt.
 */
export function watchRedisConnection(name: string, errors: EventEmitter, readiness: EventEmitter = errors): void {
  const availability = new AvailabilityLog(
    logger,
    { connection: name },
    { down: 'Redis connection lost; retrying', up: 'Redis connection restored' },
  );
  errors.on('error', (error: Error) => {
    if (isConnectionError(error)) availability.down(error);
    else logger.error({ connection: name, err: error.message }, 'Redis error');
  });
  readiness.on('ready', () => availability.up());
}

/** The same for a BullMQ Queue, Worker or QueueEvents, whose connections report through its backend. */
export function watchQueueConnection(kind: 'queue' | 'worker' | 'queue-events', target: QueueBase): void {
  // Every built-in BullMQ backend is an EventEmitter ('ready' after each reconnect).
  watchRedisConnection(`${kind}:${target.name}`, target, target.getBackend() as unknown as EventEmitter);
}
