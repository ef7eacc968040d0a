import { HousecallProProvider } from './housecallpro/housecallpro.provider';
import { providerCatalog, registerProvider } from './provider-catalog';
import { ProviderDefinition } from './provider-definition';
import { ProviderRegistry, RegisteredProvider } from './provider-registry';

describe('ProviderRegistry', () => {
  const fake = (type: string) => ({ definition: { type }, strategy: {} }) as RegisteredProvider;

  it('looks providers up by type', () => {
    const st = fake('servicetitan');
    const registry = new ProviderRegistry([st, fake('housecallpro')]);
    expect(registry.get('servicetitan')).toBe(st);
    expect(registry.types()).toEqual(['servicetitan', 'housecallpro']);
  });

  it('throws for an unknown type', () => {
    expect(() => new ProviderRegistry([]).get('fieldedge')).toThrow('Unknown provider type: fieldedge');
  });

  it('refuses two providers for one type', () => {
    expect(() => new ProviderRegistry([fake('servicetitan'), fake('servicetitan')])).toThrow('Duplicate');
  });
});

describe('provider catalog', () => {
  it('holds the built-in providers, each with its defaults', () => {
    expect(providerCatalog.types()).toEqual(expect.arrayContaining(['servicetitan', 'housecallpro']));
    expect(providerCatalog.get('servicetitan').rateLimit).toEqual({ perMinute: 60, perHour: 3600, burst: 10 });
  });

  it('refuses a second registration of a type and a type name that is not a plain word', () => {
    expect(() => registerProvider(providerCatalog.get('servicetitan'))).toThrow('registered twice');
    expect(() => registerProvider({ ...providerCatalog.get('servicetitan'), type: 'Service Titan' })).toThrow(
      'Bad provider type name',
    );
  });
});

describe('a provider definition', () => {
  it('is typed by the definition: a provider is its definition plus its strategy', () => {
    const definition: ProviderDefinition = providerCatalog.get('housecallpro');
    expect(definition.strategy).toBe(HousecallProProvider);
    expect(definition.connect).toBe('credentials');
  });
});
