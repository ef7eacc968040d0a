import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BUNDLED_JOBBER_SCHEMA, checkJobberDocuments } from './jobber.schema-check';

describe('Jobber GraphQL documents', () => {
  // JOBBER_SCHEMA_PATH points the check at another introspection (a newer API version) without editing the test.
  const schemaPath = process.env.JOBBER_SCHEMA_PATH ?? BUNDLED_JOBBER_SCHEMA;

  it.each(checkJobberDocuments(schemaPath))('$operation is valid against the schema', ({ errors }) => {
    expect(errors).toEqual([]);
  });

  it('reports a document that a schema does not support', () => {
    // A schema without `requestSettings` (as an older or newer version might be): the check must say so.
    const schema = JSON.parse(readFileSync(BUNDLED_JOBBER_SCHEMA, 'utf8')) as {
      data: { __schema: { types: { name: string; fields?: { name: string }[] }[] } };
    };
    const query = schema.data.__schema.types.find((t) => t.name === 'Query')!;
    query.fields = query.fields!.filter((f) => f.name !== 'requestSettings');
    const path = join(tmpdir(), `jobber-schema-${process.pid}.json`);
    writeFileSync(path, JSON.stringify(schema));
    const failing = checkJobberDocuments(path).filter((r) => r.errors.length);
    expect(failing.map((r) => r.operation)).toEqual(['RequestForm']);
    expect(failing[0].errors[0]).toContain('requestSettings');
  });
});
