import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { Queue } from 'bullmq';

import { AppConfig } from '../config/app-config';
import { watchQueueConnection } from '../redis/redis-connections';
import { ALL_QUEUES, DEFAULT_JOB_OPTIONS, QUEUE_NAMES } from './queues';
import { SyncProducer } from './sync.producer';

function connectionOf(redisUrl: string) {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username || undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

/** Queues (and the sync producer) are available in every mode; processors are registered by the worker module only. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: connectionOf(config.redisUrl),
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
  ],
  providers: [
    // Every queue, in QUEUE order, for code that reports on all of them (health, metrics, admin).
    // Their connections are watched from here, as soon as they exist.
    {
      provide: ALL_QUEUES,
      useFactory: (...queues: Queue[]) => {
        for (const queue of queues) watchQueueConnection('queue', queue);
        return queues;
      },
      inject: QUEUE_NAMES.map((name) => getQueueToken(name)),
    },
    SyncProducer,
  ],
  exports: [BullModule, ALL_QUEUES, SyncProducer],
})
export class QueueModule {}
