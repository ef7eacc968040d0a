import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

/**
 * Jobber's introspection at version 2022-03-10 (shared/jobber/README.md). The path is the same
 * relative to this file under src/ (ts-node, jest) and dist/src/ (`npm run build` copies the schema).
 */
export const JOBBER_SCHEMA_VERSION = '2022-03-10';
export const JOBBER_SCHEMA_PATH = join(
  __dirname,
  '..',
  '..',
  'providers',
  'jobber',
  'schema',
  `graphql-schema-${JOBBER_SCHEMA_VERSION}.json`,
);

let cached: GraphQLSchema | null = null;

/** Builds the schema once per process (about 70 ms for the 2.8 MB introspection). */
export function jobberSchema(): GraphQLSchema {
  if (!cached) {
    const parsed = JSON.parse(readFileSync(JOBBER_SCHEMA_PATH, 'utf8')) as { data?: IntrospectionQuery };
    cached = buildClientSchema(parsed.data ?? (parsed as unknown as IntrospectionQuery));
  }
  return cached;
}
