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
      useFactory: (config: AppConfig) =>
        new Redis(config.redisUrl, {
          // Fail fast instead of queueing commands forever while Redis is down: callers fail open.
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectionName: 'tradeengage',
        }),
    },
    RedisLifecycle,
  ],
  exports: [REDIS],
})
export class RedisModule {}
