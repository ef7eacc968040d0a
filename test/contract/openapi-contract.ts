import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * Checks real HTTP responses against the OpenAPI document the app publishes, the way a generated client or a
 * validating proxy would: the operation must document the status, the media type and every header we send, and the
 * body must match the schema strictly (an object schema allows no property it does not declare).
 */

export const CONTRACT_DIR = join(__dirname, '..', 'artifacts', 'contract');
export const DOCUMENT_FILE = join(CONTRACT_DIR, 'openapi.json');
export const RESULTS_DIR = join(CONTRACT_DIR, 'results');

/** Routes the app serves that are not part of the API document (the docs themselves, Bull Board, the analytics page). */
const OUTSIDE_THE_DOCUMENT = [/^\/api\/docs(-json|-yaml)?(\/|$)/i, /^\/admin\/(queues|analytics)(\/|$)/i];
/** Headers of ours that must be declared where they are sent. */
const OUR_HEADERS = ['x-request-id', 'idempotent-replayed', 'retry-after'];
const SCHEMAS_ID = 'https://tradeengage.dev/openapi/schemas.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, any>;

export interface ObservedResponse {
  method: string;
  /** The request path, with its query string if any. */
  path: string;
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the text. */
  body: unknown;
  /** `all`, `api` or `worker`: a worker serves only health and metrics. */
  mode?: string;
}

export interface ContractResult {
  /** The documented operation and status it matched (`GET /api/jobs/{id} 404`), or why it was not validated. */
  matched: string | null;
  violations: string[];
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  operation: Json;
}

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly routes: Route[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly document: Json) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(this.ajv);
    const schemas = structuredClone(document.components?.schemas ?? {}) as Json;
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: strict(absoluteRefs(schemas)) });
    this.routes = Object.entries(document.paths as Json)
      .flatMap(([template, item]) =>
        Object.entries(item as Json)
          .filter(([method]) => METHODS.includes(method))
          .map(([method, operation]) => ({
            method: method.toUpperCase(),
            template,
            // Express matches case-insensitively, ignores one trailing slash, and a parameter is one segment.
            pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
            operation: operation as Json,
          })),
      )
      // Literal paths before templated ones, as Express registers them here.
      .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  }

  static load(file = DOCUMENT_FILE): OpenApiContract {
    return new OpenApiContract(JSON.parse(readFileSync(file, 'utf8')) as Json);
  }

  check(res: ObservedResponse): ContractResult {
    const path = res.path.split('?')[0];
    if (OUTSIDE_THE_DOCUMENT.some((p) => p.test(path))) return { matched: null, violations: [] };
    const method = res.method.toUpperCase();
    const route = this.routes.find((r) => r.method === method && r.pattern.test(path));
    const workerSkips = res.mode === 'worker' && route && !/^\/(api\/health|metrics)/i.test(route.template);
    if (!route || workerSkips) {
      // No such operation (another path or method, or an API route on a worker): a 404 problem document, unless the
      // HTTP layer answered before routing (malformed HTTP or body, a body too large, a request head over 16 kB).
      const violations = [400, 404, 413, 415, 431].includes(res.status)
        ? this.validateBody('problem', { $ref: `${SCHEMAS_ID}#/$defs/Problem` }, res.body)
        : [`${method} ${path} is not in the document, yet answered ${res.status}`];
      return { matched: `(no operation) ${res.status}`, violations: this.label(method, path, res.status, violations) };
    }
    const matched = `${method} ${route.template} ${res.status}`;
    const response = this.resolve(route.operation.responses?.[res.status] ?? route.operation.responses?.default);
    if (!response) {
      return { matched, violations: [`${matched}: the status is not documented for this operation`] };
    }
    return { matched, violations: this.label(method, path, res.status, this.checkResponse(matched, response, res)) };
  }

  private checkResponse(key: string, response: Json, res: ObservedResponse): string[] {
    const violations: string[] = [];
    for (const [name, declared] of Object.entries((response.headers ?? {}) as Json)) {
      const header = this.resolve(declared) ?? {};
      const value = res.headers.get(name);
      if (value === null) {
        if (header.required) violations.push(`header ${name} is required but was not sent`);
        continue;
      }
      const typed = header.schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      violations.push(...this.validateBody(`${key} header ${name}`, header.schema ?? {}, typed, `header ${name}`));
    }
    const declaredHeaders = Object.keys(response.headers ?? {}).map((h) => h.toLowerCase());
    for (const name of OUR_HEADERS) {
      if (res.headers.has(name) && !declaredHeaders.includes(name)) {
        violations.push(`header ${name} was sent but is not declared`);
      }
    }

    const content = (response.content ?? {}) as Json;
    const contentType = res.headers.get('content-type');
    const empty = res.body === '' || res.body === undefined;
    if (!Object.keys(content).length) {
      if (!empty) violations.push('a body was sent but the response declares no content');
      return violations;
    }
    if (empty || !contentType) return [...violations, 'the response declares content but none was sent'];
    const essence = (type: string) => type.split(';')[0].trim().toLowerCase();
    const mediaType = Object.keys(content).find((t) => essence(t) === essence(contentType));
    if (!mediaType) {
      return [...violations, `content type ${contentType} is not one of ${Object.keys(content).join(', ')}`];
    }
    const schema = content[mediaType].schema ?? {};
    return [...violations, ...this.validateBody(`${key} ${mediaType}`, schema, res.body)];
  }

  private validateBody(key: string, schema: Json, value: unknown, where = 'body'): string[] {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(strict(absoluteRefs(structuredClone(schema))));
      this.validators.set(key, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      return `${where}${e.instancePath} ${e.message}${extra}`;
    });
  }

  private resolve(value: Json | undefined): Json | undefined {
    let current = value;
    while (current?.$ref) {
      current = (current.$ref as string)
        .replace(/^#\//, '')
        .split('/')
        .reduce<Json>((node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
    }
    return current;
  }

  private label(method: string, path: string, status: number, violations: string[]): string[] {
    return violations.map((v) => `${method} ${path} → ${status}: ${v}`);
  }
}

/** `#/components/schemas/X` → the shared schema resource, so every compiled schema can reach every component. */
function absoluteRefs(node: any): any {
  if (Array.isArray(node)) return node.map(absoluteRefs);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string'
        ? v.replace('#/components/schemas/', `${SCHEMAS_ID}#/$defs/`)
        : absoluteRefs(v),
    ]),
  );
}

/** No undeclared fields: an object schema listing its properties gets `additionalProperties: false`. */
function strict(node: any): any {
  if (Array.isArray(node)) return node.map(strict);
  if (typeof node !== 'object' || node === null) return node;
  const out = Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === 'properties' ? strictMap(v) : strict(v)]),
  );
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function strictMap(properties: any): any {
  return Object.fromEntries(Object.entries(properties as Json).map(([k, v]) => [k, strict(v)]));
}
