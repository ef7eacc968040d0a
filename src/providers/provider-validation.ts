import { ValidationOptions, registerDecorator } from 'class-validator';

import { providerCatalog } from './provider-catalog';

/** A provider type of the catalog, checked when validating (the catalog is complete by then). */
export function IsProviderType(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isProviderType',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: () => `must be one of: ${providerCatalog.types().join(', ')}`, ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && providerCatalog.find(value) !== undefined,
      },
    });
}
