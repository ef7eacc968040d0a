import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';

import { AppConfig } from '../config/app-config';

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
          // Fail fast instead of queueing commands forever while Redis is down: callers fail open.
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectionName: 'tradeengage',
        });
        redis.on('error', () => undefined); // reconnects by itself; health and callers report outages
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
