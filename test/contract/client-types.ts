import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { OpenAPIObject } from '@nestjs/swagger';

const ROOT = join(__dirname, '..', '..');
/** The client types the README flow (test/contract/readme-flow.ts) is written against; git-ignored, regenerated. */
export const CLIENT_TYPES_FILE = join(__dirname, 'generated', 'api.d.ts');

/**
 * Generates TypeScript types from the OpenAPI document with openapi-typescript, as an integrator would
 * (README "Integrating"): a field with a default stays optional in request bodies, and `provider.credentials`, an
 * open object until it is typed per provider, becomes `Record<string, unknown>` rather than `Record<string, never>`.
 */
export function generateClientTypes(document: OpenAPIObject, documentFile: string): void {
  mkdirSync(dirname(documentFile), { recursive: true });
  writeFileSync(documentFile, JSON.stringify(document, null, 2));
  mkdirSync(dirname(CLIENT_TYPES_FILE), { recursive: true });
  const cli = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
  // Run beside the document: in the project root it would take its input from redocly.yaml instead.
  const run = spawnSync(
    process.execPath,
    [cli, documentFile, '--output', CLIENT_TYPES_FILE, '--empty-objects-unknown', '--default-non-nullable', 'false'],
    { cwd: dirname(documentFile), encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`openapi-typescript failed (${run.status}): ${run.stderr || run.stdout}`);
}

// `npm run typecheck` generates the types before tsc checks the README flow against them.
if (require.main === module) {
  void (async () => {
    const { createOpenApiDocument } = await import('../../src/app.factory');
    const { AppConfig } = await import('../../src/config/app-config');
    const { DOCUMENT_FILE } = await import('./openapi-contract');
    generateClientTypes(await createOpenApiDocument(AppConfig.from({ NODE_ENV: 'test' })), DOCUMENT_FILE);
    console.log(`client types generated: ${CLIENT_TYPES_FILE}`);
  })().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
