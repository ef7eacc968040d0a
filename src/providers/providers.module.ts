import { DynamicModule, Module } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { ConnectionsModule } from '../connections/connections.module';
import { providerCatalog } from './provider-catalog';
import { providerSettingsToken } from './provider-definition';
import { ProviderGateway } from './provider-gateway';
import { ProviderRateLimiter } from './provider-rate-limiter';
import { ProviderRegistry, REGISTERED_PROVIDERS, RegisteredProvider } from './provider-registry';

/**
 * Every provider of the catalog: its strategy, the classes it injects and its settings from AppConfig, plus the
 * gateway through which sync and polling call a connection's provider. Built when the app is, so providers
 * registered before (tests) are part of it.
 */
@Module({})
export class ProvidersModule {
  static forRoot(): DynamicModule {
    const definitions = providerCatalog.all();
    return {
      module: ProvidersModule,
      global: true,
      imports: [ConnectionsModule],
      providers: [
        ...definitions.flatMap((d) => [
          d.strategy,
          ...(d.injectables ?? []),
          {
            provide: providerSettingsToken(d.type),
            useFactory: (config: AppConfig) => config.providerSettings(d.type),
            inject: [AppConfig],
          },
        ]),
        {
          provide: REGISTERED_PROVIDERS,
          useFactory: (...strategies: RegisteredProvider['strategy'][]) =>
            definitions.map((definition, i) => ({ definition, strategy: strategies[i] })),
          inject: definitions.map((d) => d.strategy),
        },
        ProviderRegistry,
        ProviderRateLimiter,
        ProviderGateway,
      ],
      exports: [ProviderRegistry, ProviderGateway, ProviderRateLimiter],
    };
  }
}
