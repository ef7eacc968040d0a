import { Module } from '@nestjs/common';

import { HousecallProClient } from './housecallpro/housecallpro.client';
import { HousecallProProvider } from './housecallpro/housecallpro.provider';
import { FIELD_SERVICE_PROVIDERS, ProviderRegistry } from './provider-registry';
import { ServiceTitanClient } from './servicetitan/servicetitan.client';
import { ServiceTitanProvider } from './servicetitan/servicetitan.provider';

/** The provider strategies behind ProviderRegistry. PROVIDER_SETTINGS comes from the global ConfigModule. */
@Module({
  providers: [
    ServiceTitanClient,
    ServiceTitanProvider,
    HousecallProClient,
    HousecallProProvider,
    {
      provide: FIELD_SERVICE_PROVIDERS,
      useFactory: (serviceTitan: ServiceTitanProvider, housecallPro: HousecallProProvider) => [
        serviceTitan,
        housecallPro,
      ],
      inject: [ServiceTitanProvider, HousecallProProvider],
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry],
})
export class ProvidersModule {}
