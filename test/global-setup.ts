import { ensureDatabase, runMigrations } from '../src/database/ensure-database';
import { dropDatabase } from './helpers/database';
import { TEST_DATABASE_URL } from './test-env';

/** A fresh database per run, built by the real migrations (never `synchronize`). */
export default async function globalSetup(): Promise<void> {
  await dropDatabase(TEST_DATABASE_URL);
  await ensureDatabase(TEST_DATABASE_URL);
  await runMigrations(TEST_DATABASE_URL);
}
