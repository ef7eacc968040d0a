import { Client } from 'pg';

import { ensureDatabase, runMigrations } from '../src/database/ensure-database';
import { TEST_DATABASE_URL } from './test-env';

/** A fresh database per run, built by the real migrations (never `synchronize`). */
export default async function globalSetup(): Promise<void> {
  const url = new URL(TEST_DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await ensureDatabase(TEST_DATABASE_URL);
  await runMigrations(TEST_DATABASE_URL);
}
