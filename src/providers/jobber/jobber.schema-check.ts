import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { IntrospectionQuery, buildClientSchema, parse, validate } from 'graphql';

import { MAX_REQUESTS_PER_DOCUMENT, STATIC_OPERATIONS, requestStatusesOperation } from './jobber.documents';

/** The introspection the service's documents are written against (shared/jobber/README.md). */
export const BUNDLED_JOBBER_SCHEMA = join(__dirname, 'schema', 'graphql-schema-2022-03-10.json');

/**
 * Validates every document the service sends against a Jobber introspection file with graphql-js, as Jobber's
 * server does: the bundled one in the unit test, a newer one with `npm run jobber:check-schema -- <file>`.
 */
export function checkJobberDocuments(introspectionPath: string): { operation: string; errors: string[] }[] {
  const parsed = JSON.parse(readFileSync(introspectionPath, 'utf8')) as { data?: IntrospectionQuery };
  const schema = buildClientSchema(parsed.data ?? (parsed as unknown as IntrospectionQuery));
  const operations = [
    ...STATIC_OPERATIONS,
    requestStatusesOperation(1),
    requestStatusesOperation(MAX_REQUESTS_PER_DOCUMENT),
  ];
  return operations.map((operation) => ({
    operation: `${operation.name}${operation.name === 'RequestStatuses' ? ` (${operation.document.split('request(').length - 1} aliases)` : ''}`,
    errors: validate(schema, parse(operation.document)).map((e) => e.message),
  }));
}

if (require.main === module) {
  const path = process.argv[2] ?? BUNDLED_JOBBER_SCHEMA;
  const results = checkJobberDocuments(path);
  const lines = results.map(
    (r) => `${r.errors.length ? 'FAIL' : 'ok  '} ${r.operation}${r.errors.map((e) => `\n     ${e}`).join('')}`,
  );
  const failed = results.filter((r) => r.errors.length).length;
  lines.push(
    failed ? `${failed} document(s) invalid against ${path}` : `all ${results.length} documents valid against ${path}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(failed ? 1 : 0);
}
