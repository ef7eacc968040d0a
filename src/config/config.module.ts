import { DynamicModule, Global, Module } from '@nestjs/common';

import { PROVIDER_SETTINGS } from '../providers/provider-settings';
import { AppConfig } from './app-config';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: PROVIDER_SETTINGS, useValue: config.providers },
      ],
      exports: [AppConfig, PROVIDER_SETTINGS],
    };
  }
}
