import { Inject, Injectable, InjectionToken } from '@nestjs/common';

import { FieldServiceProvider, ProviderType } from './field-service-provider';
import { ProviderDefinition } from './provider-definition';

export interface RegisteredProvider {
  definition: ProviderDefinition;
  strategy: FieldServiceProvider;
}

/** Every provider of the catalog with its strategy instance, collected by ProvidersModule. */
export const REGISTERED_PROVIDERS: InjectionToken<RegisteredProvider[]> = Symbol('REGISTERED_PROVIDERS');

/** Looks providers up by type, so callers never switch on the provider. */
@Injectable()
export class ProviderRegistry {
  private readonly byType = new Map<ProviderType, RegisteredProvider>();

  constructor(@Inject(REGISTERED_PROVIDERS) providers: RegisteredProvider[]) {
    for (const provider of providers) {
      if (this.byType.has(provider.definition.type)) {
        throw new Error(`Duplicate field service provider: ${provider.definition.type}`);
      }
      this.byType.set(provider.definition.type, provider);
    }
  }

  get(type: ProviderType): RegisteredProvider {
    const provider = this.byType.get(type);
    if (!provider) throw new Error(`Unknown provider type: ${String(type)}`);
    return provider;
  }

  types(): ProviderType[] {
    return [...this.byType.keys()];
  }
}
