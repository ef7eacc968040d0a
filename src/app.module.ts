import { DynamicModule, Module } from '@nestjs/common';
import { DestinationStream } from 'pino';

import { ApiModule } from './api.module';
import { AppConfig } from './config/app-config';
import { runsApi, runsWorker } from './config/app-mode';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { ProvidersModule } from './providers/providers.module';
import { QueueModule } from './queue/queue.module';
import { RedisModule } from './redis/redis.module';
import { WorkerModule } from './worker.module';

@Module({})
export class AppModule {
  static forConfig(config: AppConfig, options: { logDestination?: DestinationStream } = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(options.logDestination),
        DatabaseModule,
        RedisModule,
        QueueModule,
        MetricsModule,
        HealthModule,
        ProvidersModule.forRoot(),
        ...(runsApi(config.mode) ? [ApiModule] : []),
        ...(runsWorker(config.mode) ? [WorkerModule] : []),
      ],
    };
  }
}
