import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { FieldServiceProvider, ProviderType } from './field-service-provider';
import { HousecallProProvider } from './housecallpro/housecallpro.provider';
import { PROVIDER_SETTINGS, ProviderSettings } from './provider-settings';
import { FIELD_SERVICE_PROVIDERS, ProviderRegistry } from './provider-registry';
import { ProvidersModule } from './providers.module';
import { ServiceTitanProvider } from './servicetitan/servicetitan.provider';

const settings: ProviderSettings = {
  serviceTitanAuthUrl: 'http://127.0.0.1:1',
  serviceTitanApiUrl: 'http://127.0.0.1:1',
  serviceTitanAppKey: 'app-key',
  housecallProApiUrl: 'http://127.0.0.1:1',
  requestTimeoutMs: 1000,
};

describe('ProviderRegistry', () => {
  const fake = (type: ProviderType) => ({ type }) as FieldServiceProvider;

  it('looks strategies up by type', () => {
    const st = fake('servicetitan');
    const registry = new ProviderRegistry([st, fake('housecallpro')]);
    expect(registry.get('servicetitan')).toBe(st);
    expect(registry.types()).toEqual(['servicetitan', 'housecallpro']);
  });

  it('throws for an unknown type', () => {
    expect(() => new ProviderRegistry([]).get('jobber' as ProviderType)).toThrow('Unknown provider type: jobber');
  });

  it('refuses two strategies for one type', () => {
    expect(() => new ProviderRegistry([fake('servicetitan'), fake('servicetitan')])).toThrow('Duplicate');
  });
});

describe('ProvidersModule', () => {
  it('wires both strategies into the registry, with PROVIDER_SETTINGS from a global module', async () => {
    @Global()
    @Module({ providers: [{ provide: PROVIDER_SETTINGS, useValue: settings }], exports: [PROVIDER_SETTINGS] })
    class SettingsModule {}
    const ref = await Test.createTestingModule({ imports: [SettingsModule, ProvidersModule] }).compile();
    const registry = ref.get(ProviderRegistry);
    expect(registry.types().sort()).toEqual(['housecallpro', 'servicetitan']);
    expect(registry.get('servicetitan')).toBeInstanceOf(ServiceTitanProvider);
    expect(registry.get('housecallpro')).toBeInstanceOf(HousecallProProvider);
    expect(ref.get(FIELD_SERVICE_PROVIDERS, { strict: false })).toHaveLength(2);
    await ref.close();
  });
});
