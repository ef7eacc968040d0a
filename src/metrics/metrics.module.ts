import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';

import { METRIC_PROVIDERS } from './metrics';
import { MetricsController } from './metrics.controller';
import { StateGauges } from './state-gauges';

/** `/metrics` in every mode, with the Node process defaults. */
@Global()
@Module({
  imports: [
    PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: true } }),
  ],
  providers: [...METRIC_PROVIDERS, StateGauges],
  exports: [...METRIC_PROVIDERS, StateGauges],
})
export class MetricsModule {}
