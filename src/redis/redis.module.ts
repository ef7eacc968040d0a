import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';
import { REDIS_DEADLINE_MS } from './deadline';
import { watchRedisConnection } from './redis-connections';

export const REDIS = Symbol('REDIS');

/** One shared connection for rate limits, locks and health; BullMQ keeps its own. */
@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        const redis = new Redis(config.redisUrl, {
          // Fail fast instead of queueing commands forever while Redis is down (callers fail open), and
          // give up on a command a hung Redis does not answer.
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          commandTimeout: REDIS_DEADLINE_MS,
          connectionName: 'tradeengage',
        });
        watchRedisConnection('shared', redis); // reconnects by itself; one log line per outage
        // Start with a live connection when Redis is up, but never block boot on it (health reports it).
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, 5_000);
          redis.once('ready', done);
        });
        return redis;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS],
})
export class RedisModule {}
