import { Inject, Injectable, InjectionToken } from '@nestjs/common';

import { FieldServiceProvider, ProviderType } from './field-service-provider';

/** Multi-provider token: every FieldServiceProvider strategy, collected by ProvidersModule. */
export const FIELD_SERVICE_PROVIDERS: InjectionToken<FieldServiceProvider[]> = Symbol('FIELD_SERVICE_PROVIDERS');

/** Looks strategies up by provider type, so callers never switch on the provider. */
@Injectable()
export class ProviderRegistry {
  private readonly byType = new Map<ProviderType, FieldServiceProvider>();

  constructor(@Inject(FIELD_SERVICE_PROVIDERS) providers: FieldServiceProvider[]) {
    for (const provider of providers) {
      if (this.byType.has(provider.type)) throw new Error(`Duplicate field service provider: ${provider.type}`);
      this.byType.set(provider.type, provider);
    }
  }

  get(type: ProviderType): FieldServiceProvider {
    const provider = this.byType.get(type);
    if (!provider) throw new Error(`Unknown provider type: ${String(type)}`);
    return provider;
  }

  types(): ProviderType[] {
    return [...this.byType.keys()];
  }
}
