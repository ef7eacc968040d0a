import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { ApiClient, apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

interface OpenApiOperation {
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
  security?: Record<string, string[]>[];
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    securitySchemes: Record<string, unknown>;
  };
}

// SPEC section 3, the endpoints built so far: [method, OpenAPI path, request body schema or ''].
const ENDPOINTS: [string, string, string][] = [
  ['post', '/api/api-keys', 'CreateApiKeyDto'],
  ['get', '/api/api-keys', ''],
  ['delete', '/api/api-keys/{id}', ''],
  ['post', '/api/companies', 'CreateCompanyDto'],
  ['get', '/api/companies', ''],
  ['get', '/api/companies/{id}', ''],
  ['patch', '/api/companies/{id}', 'UpdateCompanyDto'],
  ['post', '/api/companies/{id}/technicians', 'CreateTechnicianDto'],
  ['get', '/api/companies/{id}/technicians', ''],
  ['patch', '/api/technicians/{id}', 'UpdateTechnicianDto'],
  ['post', '/api/jobs', 'CreateJobDto'],
  ['get', '/api/jobs', ''],
  ['get', '/api/jobs/{id}', ''],
  ['get', '/api/routings', ''],
  ['get', '/api/routings/{id}', ''],
  ['post', '/api/routings/{id}/retry', ''],
  ['get', '/api/analytics/funnel', ''],
  ['get', '/api/analytics/referrers/{companyId}', ''],
  ['get', '/api/health/live', ''],
  ['get', '/api/health/ready', ''],
  ['get', '/api/health', ''],
  ['get', '/api/health/component/{name}', ''],
];
// Health answers in terminus' own format (503 with its report), not problem+json, and needs no key.
const isHealth = (path: string) => path === '/api/health' || path.startsWith('/api/health/');
const schemaName = (ref?: string) => ref?.replace('#/components/schemas/', '');

async function expectHealthAndMetrics(t: TestApp) {
  const anonymous = apiClient(t.url);
  const live = await anonymous.get('/api/health/live');
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({ status: 'ok' });
  const ready = await anonymous.get('/api/health/ready');
  expect(ready.status).toBe(200);
  // Readiness per SPEC section 12: the database in every mode, Redis only where workers run.
  const redis = t.config.mode === 'api' ? undefined : { status: 'up' };
  expect(ready.body).toEqual(
    expect.objectContaining({
      status: 'ok',
      info: { database: { status: 'up' }, ...(redis ? { redis: expect.objectContaining(redis) } : {}) },
    }),
  );
  const metrics = await anonymous.get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.contentType).toContain('text/plain');
  expect(metrics.body).toContain('jobs_created_total');
  expect(metrics.body).toContain('# TYPE queue_jobs gauge');
  // The Node process defaults are not asserted: startTestApp clears prom-client's registry, which drops them in-process.
}

describe('Run modes - APP_MODE', () => {
  beforeAll(() => flushTestRedis());

  describe('api: REST API, Swagger, health and metrics', () => {
    let t: TestApp;
    let admin: ApiClient;
    let doc: OpenApiDocument;

    beforeAll(async () => {
      t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '100000' }, 'api');
      admin = apiClient(t.url, TEST_ADMIN_KEY);
      doc = (await apiClient(t.url).get<OpenApiDocument>('/api/docs-json')).body;
    });
    afterAll(() => t.close());

    it('serves the REST routes behind the API key', async () => {
      for (const path of ['/api/jobs', '/api/routings', '/api/companies', '/api/api-keys']) {
        const res = await admin.get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
        expect(res.body.items).toEqual(expect.any(Array));
        expectProblem(await apiClient(t.url).get(path), 401);
      }
    });

    it('serves health and metrics without a key', () => expectHealthAndMetrics(t));

    it('serves Swagger UI at /api/docs', async () => {
      const res = await apiClient(t.url).get('/api/docs');
      expect(res.status).toBe(200);
      expect(res.contentType).toContain('text/html');
      expect(res.body).toContain('swagger-ui');
    });

    it('serves an OpenAPI 3 document with bearer auth at /api/docs-json', () => {
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.values(doc.components.securitySchemes)).toContainEqual(
        expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      );
    });

    it.each(ENDPOINTS)('documents %s %s', (method, path, body) => {
      const operation = doc.paths[path]?.[method];
      expect(operation).toBeDefined();
      if (body) {
        const name = schemaName(operation.requestBody?.content['application/json']?.schema.$ref);
        expect(name).toBe(body);
        expect(Object.keys(doc.components.schemas[body].properties ?? {}).length).toBeGreaterThan(0);
      }
      if (isHealth(path)) return;
      expect(operation.security).toEqual([{ bearer: [] }]);
      for (const status of ['400', '401', '429']) {
        expect(schemaName(operation.responses[status]?.content?.['application/problem+json']?.schema.$ref)).toBe(
          'Problem',
        );
      }
    });

    it('documents problem+json on every error response and a success response on every operation', () => {
      const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ path, method, op })),
      );
      expect(operations.length).toBeGreaterThanOrEqual(ENDPOINTS.length);
      for (const { path, method, op } of operations) {
        const statuses = Object.keys(op.responses);
        expect({ path, method, success: statuses.some((s) => /^2\d\d$/.test(s)) }).toEqual({
          path,
          method,
          success: true,
        });
        if (isHealth(path)) continue;
        for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
          expect({ path, method, status, content: Object.keys(op.responses[status].content ?? {}) }).toEqual({
            path,
            method,
            status,
            content: ['application/problem+json'],
          });
        }
      }
    });

    it('documents the problem shape and the request schemas with their required fields', () => {
      const problem = doc.components.schemas.Problem;
      expect(Object.keys(problem.properties ?? {})).toEqual(
        expect.arrayContaining(['type', 'title', 'status', 'detail', 'requestId', 'errors']),
      );
      expect(doc.components.schemas.CreateJobDto.required).toEqual(
        expect.arrayContaining(['companyId', 'technicianId', 'homeowner', 'address', 'summary']),
      );
      expect(doc.components.schemas.CreateJobDto.required).not.toContain('targetCompanyIds');
      expect(doc.components.schemas.CreateCompanyDto.required).toEqual(['name']);
      expect(doc.components.schemas.CreateApiKeyDto.required).toEqual(expect.arrayContaining(['name', 'role']));
      expect(doc.components.schemas.CreateTechnicianDto.required).toEqual(
        expect.arrayContaining(['firstName', 'lastName']),
      );
    });

    it('never documents provider credentials in a response schema', () => {
      for (const name of ['CompanyResponse', 'ProviderSummary']) {
        expect(JSON.stringify(doc.components.schemas[name])).not.toMatch(/credentials|clientSecret|apiKey/);
      }
    });
  });

  describe('worker: only health and metrics over HTTP', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({}, 'worker');
    });
    afterAll(() => t.close());

    it('serves health and metrics', () => expectHealthAndMetrics(t));

    it.each([
      ['GET', '/api/jobs'],
      ['POST', '/api/jobs'],
      ['GET', '/api/companies'],
      ['GET', '/api/routings'],
      ['POST', '/api/api-keys'],
      ['GET', '/api/docs'],
      ['GET', '/api/docs-json'],
    ])('answers 404 problem+json for %s %s, with or without a key', async (method, path) => {
      for (const key of [TEST_ADMIN_KEY, null]) {
        const res = await apiClient(t.url, key ?? undefined).call(method, path, method === 'POST' ? { body: {} } : {});
        const problem = expectProblem(res, 404);
        expect(problem.requestId).toEqual(expect.any(String));
        expect(res.headers.get('x-request-id')).toBe(problem.requestId);
      }
    });
  });
});
