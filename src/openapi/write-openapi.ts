import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { createOpenApiDocument } from '../app.factory';
import { AppConfig } from '../config/app-config';

/** `npm run openapi [file]`: writes the OpenAPI document (default dist/openapi.json) without starting a server. */
async function main(): Promise<void> {
  const file = process.argv[2] ?? 'dist/openapi.json';
  const document = await createOpenApiDocument(AppConfig.fromProcessEnv());
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`OpenAPI ${document.openapi} document written to ${file}`);
}

main().catch((error: Error) => {
  console.error(`openapi failed: ${error.message}`);
  process.exit(1);
});
