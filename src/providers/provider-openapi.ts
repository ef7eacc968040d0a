import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod/v4';

import { providerCatalog } from './provider-catalog';

type Schema = Record<string, unknown>;

/**
 * Writes the provider catalog into the OpenAPI document: the provider type enums, and `ProviderConfigDto` as a
 * `oneOf` with one variant per credentials provider (its credentials schema generated from the provider's own
 * zod schema), discriminated by `type`. Decorators cannot carry these: the catalog is complete only at boot.
 */
export function describeProviders(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const types = providerCatalog.types();
  const properties = (name: string) => (schemas[name]?.properties ?? {}) as Record<string, Schema>;
  for (const [schema, property] of [
    ['RoutingResponse', 'providerType'],
    ['RoutingWithEventsResponse', 'providerType'],
    ['ConnectionResponse', 'providerType'],
    ['ProviderSummary', 'type'],
  ]) {
    if (properties(schema)[property]) properties(schema)[property].enum = types;
  }
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as { parameters?: { name: string; schema?: Schema }[] }[]) {
      for (const parameter of operation?.parameters ?? []) {
        if (parameter.name === 'providerType' && parameter.schema) parameter.schema.enum = types;
      }
    }
  }

  const variants = providerCatalog
    .all()
    .filter((p) => p.connect === 'credentials')
    .map((p) => {
      const name = `${p.displayName.replace(/\W/g, '')}ProviderConfig`;
      const credentials = z.toJSONSchema(p.credentials, { io: 'input' }) as Schema;
      delete credentials.$schema;
      schemas[name] = {
        type: 'object',
        required: ['type', 'credentials'],
        properties: {
          type: { type: 'string', enum: [p.type] },
          credentials: {
            ...credentials,
            description: `${p.displayName} credentials. Stored encrypted, never returned.`,
          },
        },
      };
      return { type: p.type, ref: `#/components/schemas/${name}` };
    });
  schemas.ProviderConfigDto = {
    description: 'A provider that takes pasted credentials (OAuth providers connect through their authorize endpoint)',
    oneOf: variants.map((v) => ({ $ref: v.ref })),
    discriminator: { propertyName: 'type', mapping: Object.fromEntries(variants.map((v) => [v.type, v.ref])) },
  };
  return document;
}
