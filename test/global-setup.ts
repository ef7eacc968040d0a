import { rmSync } from 'node:fs';

import { createOpenApiDocument } from '../src/app.factory';
import { AppConfig } from '../src/config/app-config';
import { ensureDatabase, runMigrations } from '../src/database/ensure-database';
import { generateClientTypes } from './contract/client-types';
import { DOCUMENT_FILE, RESULTS_DIR } from './contract/openapi-contract';
import { dropDatabase } from './helpers/database';
import { TEST_DATABASE_URL } from './test-env';

/**
 * A fresh database per run, built by the real migrations (never `synchronize`), and the OpenAPI document every
 * e2e response is checked against (test/contract), built from the app as `npm run lint:api` builds it.
 */
export default async function globalSetup(): Promise<void> {
  await dropDatabase(TEST_DATABASE_URL);
  await ensureDatabase(TEST_DATABASE_URL);
  await runMigrations(TEST_DATABASE_URL);

  rmSync(RESULTS_DIR, { recursive: true, force: true });
  // The document, and the client types the README flow is type-checked against (test/contract/readme-flow.ts).
  generateClientTypes(await createOpenApiDocument(AppConfig.from({ NODE_ENV: 'test' })), DOCUMENT_FILE);
}
