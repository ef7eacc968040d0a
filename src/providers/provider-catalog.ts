import { housecallPro } from './housecallpro';
import { jobber } from './jobber';
import { ProviderDefinition } from './provider-definition';
import { serviceTitan } from './servicetitan';

const definitions = new Map<string, ProviderDefinition>();

/**
 * Adds a provider. The service's own providers are registered below, one line each; tests register providers
 * of their own before the app is built (config, validation and the DI graph read the catalog at boot).
 */
export function registerProvider(definition: ProviderDefinition): void {
  if (!/^[a-z][a-z0-9]{1,30}$/.test(definition.type)) throw new Error(`Bad provider type name: ${definition.type}`);
  if (definitions.has(definition.type)) throw new Error(`Provider ${definition.type} is registered twice`);
  definitions.set(definition.type, definition);
}

registerProvider(serviceTitan);
registerProvider(housecallPro);
registerProvider(jobber);

export const providerCatalog = {
  all(): ProviderDefinition[] {
    return [...definitions.values()];
  },
  types(): string[] {
    return [...definitions.keys()];
  },
  find(type: string): ProviderDefinition | undefined {
    return definitions.get(type);
  },
  get(type: string): ProviderDefinition {
    const definition = definitions.get(type);
    if (!definition) throw new Error(`Unknown provider type: ${type}`);
    return definition;
  },
};
