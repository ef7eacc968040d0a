import { DynamicModule, Module } from '@nestjs/common';
import { DestinationStream } from 'pino';

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
        // Loaded only in the mode that registers it: a worker never loads the REST surface (controllers, DTOs,
        // Bull Board, the analytics page) and an API process never loads the processors.
        ...(runsApi(config.mode) ? [import('./api.module').then((m) => ({ module: m.ApiModule }))] : []),
        ...(runsWorker(config.mode) ? [import('./worker.module').then((m) => ({ module: m.WorkerModule }))] : []),
      ],
    };
  }
}
