import { DataSource } from 'typeorm';

import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source';

/** For the TypeORM CLI only (`npm run migration:generate`); the application never imports this file. */
export default new DataSource(dataSourceOptions(AppConfig.fromProcessEnv().databaseUrl));
