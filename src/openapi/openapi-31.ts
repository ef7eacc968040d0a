import { OpenAPIObject } from '@nestjs/swagger';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document, walked generically
type Json = Record<string, any>;

// Annotations that describe a property where it is used; they stay beside a `oneOf` made for `null`.
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly'];

/**
 * @nestjs/swagger writes OpenAPI 3.0 schemas (`nullable: true`, `example`) whatever version the document states.
 * OpenAPI 3.1 schemas are JSON Schema 2020-12: `null` is a type of its own and `examples` an array, so a nullable
 * reference no longer needs the `nullable`-beside-`allOf` form that validators read as "never null".
 */
export function toOpenApi31(document: OpenAPIObject): OpenAPIObject {
  const doc = document as Json;
  doc.openapi = '3.1.0';
  for (const [name, schema] of Object.entries((doc.components?.schemas ?? {}) as Json)) {
    doc.components.schemas[name] = convert(schema);
  }
  for (const header of Object.values((doc.components?.headers ?? {}) as Json)) {
    if (header.schema) header.schema = convert(header.schema);
  }
  for (const item of Object.values(doc.paths as Json)) {
    for (const operation of Object.values(item as Json)) {
      for (const parameter of operation.parameters ?? [])
        if (parameter.schema) parameter.schema = convert(parameter.schema);
      for (const media of Object.values((operation.requestBody?.content ?? {}) as Json)) {
        if (media.schema) media.schema = convert(media.schema);
      }
      for (const response of Object.values((operation.responses ?? {}) as Json)) {
        for (const media of Object.values((response.content ?? {}) as Json)) {
          if (media.schema) media.schema = convert(media.schema);
        }
      }
    }
  }
  return document;
}

function convert(input: Json): Json {
  if (typeof input !== 'object' || input === null || input.$ref) return input;
  const { nullable, example, ...schema } = input;
  if (example !== undefined) schema.examples ??= [example];
  if (schema.properties) {
    schema.properties = Object.fromEntries(Object.entries(schema.properties as Json).map(([k, v]) => [k, convert(v)]));
  }
  if (schema.items) schema.items = convert(schema.items);
  if (typeof schema.additionalProperties === 'object')
    schema.additionalProperties = convert(schema.additionalProperties);
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    if (schema[key]) schema[key] = (schema[key] as Json[]).map(convert);
  }
  if (!nullable) return schema;

  if (schema.allOf || schema.oneOf || schema.anyOf) {
    // { type: 'object', allOf: [{ $ref }], nullable: true } → { oneOf: [{ $ref }, { type: 'null' }] }
    const annotations = Object.fromEntries(ANNOTATIONS.filter((k) => k in schema).map((k) => [k, schema[k]]));
    const core = Object.fromEntries(Object.entries(schema).filter(([k]) => !ANNOTATIONS.includes(k) && k !== 'type'));
    const single = core.allOf?.length === 1 && Object.keys(core).length === 1 ? core.allOf[0] : core;
    return { ...annotations, oneOf: [single, { type: 'null' }] };
  }
  if (typeof schema.type === 'string') schema.type = [schema.type, 'null'];
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
  return schema;
}
