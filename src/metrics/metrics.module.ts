import { Global, Module, OnModuleInit } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';

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
export class MetricsModule implements OnModuleInit {
  /**
   * prom-client's defaults include gauges named `nodejs_active_{handles,requests,resources}_total`, which
   * `promtool check metrics` refuses (`_total` is for counters). Their values are the sums of the
   * `nodejs_active_{handles,requests,resources}{type}` gauges it also exports, so they are dropped.
   */
  onModuleInit(): void {
    for (const kind of ['handles', 'requests', 'resources']) register.removeSingleMetric(`nodejs_active_${kind}_total`);
  }
}
