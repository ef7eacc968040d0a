import { gzipSync } from 'node:zlib';

import {
  createCompany,
  createNetwork,
  createTechnician,
  jobBody,
  serviceTitanCredentials,
} from '../factories/network.factory';
import { TestApp, flushTestRedis, startTestApp } from '../helpers/app';
import { recordResponse } from '../contract/contract-recorder';
import { ApiClient, ApiResponse, apiClient, expectProblem } from '../helpers/http';
import { TEST_ADMIN_KEY } from '../test-env';

// Every client mistake must come back as a 4xx problem+json naming the field, never a 5xx, a stack or SQL.

interface Ctx {
  companyId: string;
  technicianId: string;
  targetIds: string[];
  job: ReturnType<typeof jobBody>;
}

interface BadCase {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** `{company}` and `{technician}` are replaced by ids created in beforeAll. */
  path: string;
  /** Sent as JSON. */
  body?: (c: Ctx) => unknown;
  /** Sent as is (malformed JSON, other media types...). */
  raw?: (c: Ctx) => string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** `errors[].field` must contain it (a string) or one matching it (a RegExp). */
  field?: string | RegExp;
}

const UUID_A = '00000000-0000-4000-8000-00000000000a';
const uuids = (n: number) =>
  Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

const job = (patch: Record<string, unknown>) => (c: Ctx) => ({ ...c.job, ...patch });
const without = (field: string) => (c: Ctx) => Object.fromEntries(Object.entries(c.job).filter(([k]) => k !== field));
const homeowner = (patch: Record<string, unknown>) => (c: Ctx) => ({
  ...c.job,
  homeowner: { ...c.job.homeowner, ...patch },
});
const address = (patch: Record<string, unknown>) => (c: Ctx) => ({ ...c.job, address: { ...c.job.address, ...patch } });
const targets = (ids: unknown) => (c: Ctx) => ({ ...c.job, targetCompanyIds: ids });
/** The valid job as JSON text with `extra` members appended (they win over earlier duplicates), for what JSON.stringify cannot write. */
const jobText = (extra: string) => (c: Ctx) => `${JSON.stringify(c.job).slice(0, -1)},${extra}}`;
const company = (patch: Record<string, unknown>) => () => ({ name: 'Bad Input Co', ...patch });
const stProvider = (credentials: unknown) => company({ provider: { type: 'servicetitan', credentials } });

const JSON_TYPE = { 'content-type': 'application/json' };

const cases: BadCase[] = [
  // POST /api/jobs: missing fields and wrong types
  { name: 'job: empty object', method: 'POST', path: '/api/jobs', body: () => ({}), status: 400, field: 'companyId' },
  {
    name: 'job: no homeowner',
    method: 'POST',
    path: '/api/jobs',
    body: without('homeowner'),
    status: 400,
    field: 'homeowner',
  },
  {
    name: 'job: no summary',
    method: 'POST',
    path: '/api/jobs',
    body: without('summary'),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: companyId a number',
    method: 'POST',
    path: '/api/jobs',
    body: job({ companyId: 42 }),
    status: 400,
    field: 'companyId',
  },
  {
    name: 'job: companyId not a UUID',
    method: 'POST',
    path: '/api/jobs',
    body: job({ companyId: 'acme' }),
    status: 400,
    field: 'companyId',
  },
  {
    name: 'job: technicianId null',
    method: 'POST',
    path: '/api/jobs',
    body: job({ technicianId: null }),
    status: 400,
    field: 'technicianId',
  },
  {
    name: 'job: homeowner a string',
    method: 'POST',
    path: '/api/jobs',
    body: job({ homeowner: 'Jane Doe' }),
    status: 400,
    field: 'homeowner',
  },
  {
    name: 'job: homeowner an array',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => ({ ...c.job, homeowner: [c.job.homeowner] }),
    status: 400,
    field: 'homeowner',
  },
  {
    name: 'job: address null',
    method: 'POST',
    path: '/api/jobs',
    body: job({ address: null }),
    status: 400,
    field: 'address',
  },
  {
    name: 'job: address an array',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => ({ ...c.job, address: [c.job.address] }),
    status: 400,
    field: 'address',
  },
  {
    name: 'job: summary of 2001 chars',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: 's'.repeat(2001) }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary only whitespace',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: ' \n\t ' }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary a number',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: 12345 }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary an array',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: ['a', 'b'] }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary an object',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: { text: 'a' } }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary with a NUL byte',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: 'leak\u0000here' }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary with a control char',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: 'ring \u0007 bell' }),
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: summary with a lone surrogate',
    method: 'POST',
    path: '/api/jobs',
    raw: jobText('"summary":"broken \\ud800 text"'),
    headers: JSON_TYPE,
    status: 400,
    field: 'summary',
  },
  {
    name: 'job: trade an object',
    method: 'POST',
    path: '/api/jobs',
    body: job({ trade: { name: 'electrical' } }),
    status: 400,
    field: 'trade',
  },
  {
    name: 'job: trade of 51 chars',
    method: 'POST',
    path: '/api/jobs',
    body: job({ trade: 't'.repeat(51) }),
    status: 400,
    field: 'trade',
  },
  {
    name: 'job: trade with a NUL byte',
    method: 'POST',
    path: '/api/jobs',
    body: job({ trade: 'elec\u0000' }),
    status: 400,
    field: 'trade',
  },
  // targets
  {
    name: 'job: targetCompanyIds a string',
    method: 'POST',
    path: '/api/jobs',
    body: targets(UUID_A),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: targetCompanyIds an object',
    method: 'POST',
    path: '/api/jobs',
    body: targets({ 0: UUID_A }),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: 300 targetCompanyIds',
    method: 'POST',
    path: '/api/jobs',
    body: targets(uuids(300)),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: duplicate targets',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => ({ ...c.job, targetCompanyIds: [c.targetIds[0], c.targetIds[0]] }),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: duplicate targets differing in case',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => ({ ...c.job, targetCompanyIds: [c.targetIds[0], c.targetIds[0].toUpperCase()] }),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: a target that is not a UUID',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => ({ ...c.job, targetCompanyIds: [c.targetIds[0], 'nope'] }),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: targets of objects',
    method: 'POST',
    path: '/api/jobs',
    body: targets([{ id: UUID_A }]),
    status: 400,
    field: 'targetCompanyIds',
  },
  {
    name: 'job: targets null inside',
    method: 'POST',
    path: '/api/jobs',
    body: targets([null]),
    status: 400,
    field: 'targetCompanyIds',
  },
  // address
  {
    name: 'job: unknown state',
    method: 'POST',
    path: '/api/jobs',
    body: address({ state: 'ZZ' }),
    status: 400,
    field: 'address.state',
  },
  {
    name: 'job: state a number',
    method: 'POST',
    path: '/api/jobs',
    body: address({ state: 48 }),
    status: 400,
    field: 'address.state',
  },
  {
    name: 'job: state spelled out',
    method: 'POST',
    path: '/api/jobs',
    body: address({ state: 'Texas' }),
    status: 400,
    field: 'address.state',
  },
  {
    name: 'job: 4-digit zip',
    method: 'POST',
    path: '/api/jobs',
    body: address({ zip: '7870' }),
    status: 400,
    field: 'address.zip',
  },
  {
    name: 'job: zip with an emoji',
    method: 'POST',
    path: '/api/jobs',
    body: address({ zip: '78701😀' }),
    status: 400,
    field: 'address.zip',
  },
  {
    name: 'job: zip a number',
    method: 'POST',
    path: '/api/jobs',
    body: address({ zip: 78701 }),
    status: 400,
    field: 'address.zip',
  },
  {
    name: 'job: foreign country',
    method: 'POST',
    path: '/api/jobs',
    body: address({ country: 'CA' }),
    status: 400,
    field: 'address.country',
  },
  {
    name: 'job: street of 10k chars',
    method: 'POST',
    path: '/api/jobs',
    body: address({ street: 'x'.repeat(10_000) }),
    status: 400,
    field: 'address.street',
  },
  {
    name: 'job: unknown address field',
    method: 'POST',
    path: '/api/jobs',
    body: address({ planet: 'Mars' }),
    status: 400,
    field: 'address.planet',
  },
  // homeowner
  {
    name: 'job: invalid email',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ email: 'jane@' }),
    status: 400,
    field: 'homeowner.email',
  },
  {
    name: 'job: invalid phone',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ phone: 'call me maybe' }),
    status: 400,
    field: 'homeowner.phone',
  },
  {
    name: 'job: phone a number',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ phone: 5125550147 }),
    status: 400,
    field: 'homeowner.phone',
  },
  {
    name: 'job: neither phone nor email',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ phone: null, email: null }),
    status: 400,
    field: 'homeowner',
  },
  {
    name: 'job: first name of 10k chars',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ firstName: 'J'.repeat(10_000) }),
    status: 400,
    field: 'homeowner.firstName',
  },
  {
    name: 'job: last name with a NUL byte',
    method: 'POST',
    path: '/api/jobs',
    body: homeowner({ firstName: 'Zoë 😀', lastName: 'Doe\u0000' }),
    status: 400,
    field: 'homeowner.lastName',
  },
  // unknown fields, prototype pollution, nesting
  {
    name: 'job: unknown top-level field',
    method: 'POST',
    path: '/api/jobs',
    body: job({ isAdmin: true }),
    status: 400,
    field: 'isAdmin',
  },
  {
    name: 'job: __proto__ key',
    method: 'POST',
    path: '/api/jobs',
    raw: jobText('"__proto__":{"isAdmin":true,"polluted":"yes"}'),
    headers: JSON_TYPE,
    status: 400,
    field: '__proto__',
  },
  {
    name: 'job: constructor.prototype key',
    method: 'POST',
    path: '/api/jobs',
    raw: jobText('"constructor":{"prototype":{"polluted":"yes"}}'),
    headers: JSON_TYPE,
    status: 400,
    field: 'constructor',
  },
  {
    name: 'job: __proto__ inside homeowner',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => JSON.stringify(c.job).replace('"homeowner":{', '"homeowner":{"__proto__":{"polluted":"yes"},'),
    headers: JSON_TYPE,
    status: 400,
    field: 'homeowner.__proto__',
  },
  {
    name: 'job: object nested 5000 deep',
    method: 'POST',
    path: '/api/jobs',
    raw: jobText(`"homeowner":${'{"x":'.repeat(5000)}1${'}'.repeat(5000)}`),
    headers: JSON_TYPE,
    status: 400,
    field: /^homeowner(\.x)+$/,
  },
  {
    name: 'job: arrays nested 50000 deep',
    method: 'POST',
    path: '/api/jobs',
    raw: jobText(`"summary":${'['.repeat(50_000)}${']'.repeat(50_000)}`),
    headers: JSON_TYPE,
    status: 400,
    field: /^summary/,
  },
  // the body itself
  {
    name: 'job: a JSON array body',
    method: 'POST',
    path: '/api/jobs',
    body: (c) => [c.job],
    status: 400,
    field: 'body',
  },
  {
    name: 'job: a JSON number body',
    method: 'POST',
    path: '/api/jobs',
    raw: () => '42',
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: a JSON string body',
    method: 'POST',
    path: '/api/jobs',
    raw: () => '"hello"',
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: a JSON null body',
    method: 'POST',
    path: '/api/jobs',
    raw: () => 'null',
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: malformed JSON',
    method: 'POST',
    path: '/api/jobs',
    raw: () => '{"companyId": ',
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: JSON with trailing garbage',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => `${JSON.stringify(c.job)} trailing`,
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: single-quoted pseudo JSON',
    method: 'POST',
    path: '/api/jobs',
    raw: () => "{'companyId': 'x'}",
    headers: JSON_TYPE,
    status: 400,
  },
  {
    name: 'job: empty JSON body',
    method: 'POST',
    path: '/api/jobs',
    raw: () => '',
    headers: JSON_TYPE,
    status: 400,
    field: 'companyId',
  },
  {
    name: 'job: JSON sent as text/plain',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => JSON.stringify(c.job),
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    name: 'job: form-encoded body',
    method: 'POST',
    path: '/api/jobs',
    raw: () => 'companyId=x&summary=y',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
  },
  { name: 'job: no body at all', method: 'POST', path: '/api/jobs', status: 415 },
  {
    name: 'job: JSON in an unsupported charset',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => JSON.stringify(c.job),
    headers: { 'content-type': 'application/json; charset=latin1' },
    status: 415,
  },
  {
    name: 'job: an unsupported content-encoding',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => JSON.stringify(c.job),
    headers: { ...JSON_TYPE, 'content-encoding': 'compress' },
    status: 415,
  },
  {
    name: 'job: gzip that is not gzip',
    method: 'POST',
    path: '/api/jobs',
    raw: () => 'definitely not gzip',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 400,
  },
  {
    name: 'job: gzip that inflates past 256 kB',
    method: 'POST',
    path: '/api/jobs',
    raw: (c) => gzipSync(JSON.stringify({ ...c.job, summary: ' '.repeat(2_000_000) })),
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 413,
  },
  {
    name: 'job: a body over 256 kB',
    method: 'POST',
    path: '/api/jobs',
    body: job({ summary: 'x'.repeat(300 * 1024) }),
    status: 413,
  },
  {
    name: 'job: Idempotency-Key of 300 chars',
    method: 'POST',
    path: '/api/jobs',
    body: job({}),
    headers: { 'idempotency-key': 'k'.repeat(300) },
    status: 400,
    field: 'Idempotency-Key',
  },
  {
    name: 'job: Idempotency-Key with non-ASCII',
    method: 'POST',
    path: '/api/jobs',
    body: job({}),
    headers: { 'idempotency-key': 'caf\u00e9' },
    status: 400,
    field: 'Idempotency-Key',
  },

  // POST /api/companies
  {
    name: 'company: empty object',
    method: 'POST',
    path: '/api/companies',
    body: () => ({}),
    status: 400,
    field: 'name',
  },
  {
    name: 'company: name of 10k chars',
    method: 'POST',
    path: '/api/companies',
    body: company({ name: 'n'.repeat(10_000) }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company: name a number',
    method: 'POST',
    path: '/api/companies',
    body: company({ name: 7 }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company: name null',
    method: 'POST',
    path: '/api/companies',
    body: company({ name: null }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company: name with a NUL byte',
    method: 'POST',
    path: '/api/companies',
    body: company({ name: 'Acme\u0000' }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company: trades a string',
    method: 'POST',
    path: '/api/companies',
    body: company({ trades: 'plumbing' }),
    status: 400,
    field: 'trades',
  },
  {
    name: 'company: trades an object',
    method: 'POST',
    path: '/api/companies',
    body: company({ trades: { plumbing: true } }),
    status: 400,
    field: 'trades',
  },
  {
    name: 'company: trades of numbers',
    method: 'POST',
    path: '/api/companies',
    body: company({ trades: [1, 2] }),
    status: 400,
    field: 'trades',
  },
  {
    name: 'company: an empty trade',
    method: 'POST',
    path: '/api/companies',
    body: company({ trades: ['plumbing', ' '] }),
    status: 400,
    field: 'trades',
  },
  {
    name: 'company: a trade with a NUL byte',
    method: 'POST',
    path: '/api/companies',
    body: company({ trades: ['plumbing', 'hvac\u0000'] }),
    status: 400,
    field: 'trades[1]',
  },
  {
    name: 'company: a 4-digit service zip',
    method: 'POST',
    path: '/api/companies',
    body: company({ serviceAreaZips: ['7870'] }),
    status: 400,
    field: 'serviceAreaZips',
  },
  {
    name: 'company: 2001 service zips',
    method: 'POST',
    path: '/api/companies',
    body: company({ serviceAreaZips: Array.from({ length: 2001 }, (_, i) => String(10000 + i)) }),
    status: 400,
    field: 'serviceAreaZips',
  },
  {
    name: 'company: isActive a string',
    method: 'POST',
    path: '/api/companies',
    body: company({ isActive: 'yes' }),
    status: 400,
    field: 'isActive',
  },
  {
    name: 'company: unknown provider type',
    method: 'POST',
    path: '/api/companies',
    body: company({ provider: { type: 'jobber', credentials: { apiKey: 'k' } } }),
    status: 400,
    field: 'provider.type',
  },
  {
    name: 'company: provider an array',
    method: 'POST',
    path: '/api/companies',
    body: company({ provider: [{ type: 'housecallpro', credentials: { apiKey: 'k' } }] }),
    status: 400,
    field: 'provider',
  },
  {
    name: 'company: provider a string',
    method: 'POST',
    path: '/api/companies',
    body: company({ provider: 'servicetitan' }),
    status: 400,
    field: 'provider',
  },
  {
    name: 'company: credentials without clientSecret',
    method: 'POST',
    path: '/api/companies',
    body: () =>
      company({
        provider: { type: 'servicetitan', credentials: { ...serviceTitanCredentials(), clientSecret: undefined } },
      })(),
    status: 400,
    field: 'provider.credentials.clientSecret',
  },
  {
    name: 'company: credentials a string',
    method: 'POST',
    path: '/api/companies',
    body: stProvider('tenant=1;secret=2'),
    status: 400,
    field: 'provider.credentials',
  },
  {
    name: 'company: credentials an array',
    method: 'POST',
    path: '/api/companies',
    body: stProvider([serviceTitanCredentials()]),
    status: 400,
    field: 'provider.credentials',
  },
  {
    name: 'company: credentials with a NUL byte',
    method: 'POST',
    path: '/api/companies',
    body: () => stProvider(serviceTitanCredentials({ clientSecret: 'sec\u0000ret' }))(),
    status: 400,
    field: 'provider.credentials.clientSecret',
  },
  {
    name: 'company: unknown field',
    method: 'POST',
    path: '/api/companies',
    body: company({ ownerEmail: 'x@example.com' }),
    status: 400,
    field: 'ownerEmail',
  },

  // PATCH /api/companies/:id
  {
    name: 'company patch: empty name',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ name: '' }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company patch: name null',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ name: null }),
    status: 400,
    field: 'name',
  },
  {
    name: 'company patch: isActive a string',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ isActive: 'false' }),
    status: 400,
    field: 'isActive',
  },
  {
    name: 'company patch: isActive null',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ isActive: null }),
    status: 400,
    field: 'isActive',
  },
  {
    name: 'company patch: trades null',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ trades: null }),
    status: 400,
    field: 'trades',
  },
  {
    name: 'company patch: serviceAreaZips null',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ serviceAreaZips: null }),
    status: 400,
    field: 'serviceAreaZips',
  },
  {
    name: 'company patch: provider an array',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ provider: [{ type: 'housecallpro', credentials: { apiKey: 'k' } }] }),
    status: 400,
    field: 'provider',
  },
  {
    name: 'company patch: id in the body',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => ({ id: UUID_A }),
    status: 400,
    field: 'id',
  },
  {
    name: 'company patch: a JSON array body',
    method: 'PATCH',
    path: '/api/companies/{company}',
    body: () => [{ isActive: false }],
    status: 400,
    field: 'body',
  },
  {
    name: 'company patch: JSON sent as text/plain',
    method: 'PATCH',
    path: '/api/companies/{company}',
    raw: () => '{"isActive":false}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    name: 'company patch: id not a UUID',
    method: 'PATCH',
    path: '/api/companies/123',
    body: () => ({ isActive: false }),
    status: 400,
    field: 'id',
  },

  // POST /api/companies/:id/technicians
  {
    name: 'technician: empty object',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({}),
    status: 400,
    field: 'firstName',
  },
  {
    name: 'technician: invalid email',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({ firstName: 'P', lastName: 'Q', email: 'not-an-email' }),
    status: 400,
    field: 'email',
  },
  {
    name: 'technician: invalid phone',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({ firstName: 'P', lastName: 'Q', phone: '555' }),
    status: 400,
    field: 'phone',
  },
  {
    name: 'technician: phone a number',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({ firstName: 'P', lastName: 'Q', phone: 5125550100 }),
    status: 400,
    field: 'phone',
  },
  {
    name: 'technician: firstName an array',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({ firstName: ['P'], lastName: 'Q' }),
    status: 400,
    field: 'firstName',
  },
  {
    name: 'technician: companyId in the body',
    method: 'POST',
    path: '/api/companies/{company}/technicians',
    body: () => ({ firstName: 'P', lastName: 'Q', companyId: UUID_A }),
    status: 400,
    field: 'companyId',
  },
  {
    name: 'technician: company id not a UUID',
    method: 'POST',
    path: '/api/companies/acme/technicians',
    body: () => ({ firstName: 'P', lastName: 'Q' }),
    status: 400,
    field: 'id',
  },

  // PATCH /api/technicians/:id
  {
    name: 'technician patch: isActive a string',
    method: 'PATCH',
    path: '/api/technicians/{technician}',
    body: () => ({ isActive: 'yes' }),
    status: 400,
    field: 'isActive',
  },
  {
    name: 'technician patch: firstName null',
    method: 'PATCH',
    path: '/api/technicians/{technician}',
    body: () => ({ firstName: null }),
    status: 400,
    field: 'firstName',
  },
  {
    name: 'technician patch: isActive null',
    method: 'PATCH',
    path: '/api/technicians/{technician}',
    body: () => ({ isActive: null }),
    status: 400,
    field: 'isActive',
  },
  {
    name: 'technician patch: moving company',
    method: 'PATCH',
    path: '/api/technicians/{technician}',
    body: () => ({ companyId: UUID_A }),
    status: 400,
    field: 'companyId',
  },
  {
    name: 'technician patch: id not a UUID',
    method: 'PATCH',
    path: '/api/technicians/xyz',
    body: () => ({ isActive: false }),
    status: 400,
    field: 'id',
  },

  // POST /api/api-keys
  {
    name: 'api key: empty object',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({}),
    status: 400,
    field: 'role',
  },
  {
    name: 'api key: unknown role',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: 'k', role: 'root' }),
    status: 400,
    field: 'role',
  },
  {
    name: 'api key: role null',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: 'k', role: null }),
    status: 400,
    field: 'role',
  },
  {
    name: 'api key: role in capitals',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: 'k', role: 'ADMIN' }),
    status: 400,
    field: 'role',
  },
  {
    name: 'api key: companyId not a UUID',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: 'k', role: 'company', companyId: 'acme' }),
    status: 400,
    field: 'companyId',
  },
  {
    name: 'api key: name an array',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: ['k'], role: 'admin' }),
    status: 400,
    field: 'name',
  },
  {
    name: 'api key: name of 201 chars',
    method: 'POST',
    path: '/api/api-keys',
    body: () => ({ name: 'k'.repeat(201), role: 'admin' }),
    status: 400,
    field: 'name',
  },

  // list queries
  { name: 'jobs list: limit=0', method: 'GET', path: '/api/jobs?limit=0', status: 400, field: 'limit' },
  { name: 'jobs list: limit=abc', method: 'GET', path: '/api/jobs?limit=abc', status: 400, field: 'limit' },
  { name: 'jobs list: limit=201', method: 'GET', path: '/api/jobs?limit=201', status: 400, field: 'limit' },
  { name: 'jobs list: limit=1.5', method: 'GET', path: '/api/jobs?limit=1.5', status: 400, field: 'limit' },
  { name: 'jobs list: limit=1e400', method: 'GET', path: '/api/jobs?limit=1e400', status: 400, field: 'limit' },
  { name: 'jobs list: limit twice', method: 'GET', path: '/api/jobs?limit=1&limit=2', status: 400, field: 'limit' },
  { name: 'jobs list: garbage cursor', method: 'GET', path: '/api/jobs?cursor=garbage', status: 400, field: 'cursor' },
  {
    name: 'jobs list: cursor of 300 chars',
    method: 'GET',
    path: `/api/jobs?cursor=${'c'.repeat(300)}`,
    status: 400,
    field: 'cursor',
  },
  { name: 'jobs list: cursor twice', method: 'GET', path: '/api/jobs?cursor=a&cursor=b', status: 400, field: 'cursor' },
  { name: 'jobs list: unknown status', method: 'GET', path: '/api/jobs?status=bogus', status: 400, field: 'status' },
  {
    name: 'jobs list: createdFrom not a date',
    method: 'GET',
    path: '/api/jobs?createdFrom=yesterday',
    status: 400,
    field: 'createdFrom',
  },
  {
    name: 'jobs list: createdTo before PostgreSQL time',
    method: 'GET',
    path: '/api/jobs?createdTo=-271821-04-20T00:00:00Z',
    status: 400,
    field: 'createdTo',
  },
  {
    name: 'jobs list: companyId not a UUID',
    method: 'GET',
    path: '/api/jobs?companyId=1',
    status: 400,
    field: 'companyId',
  },
  { name: 'jobs list: trade with a NUL byte', method: 'GET', path: '/api/jobs?trade=%00', status: 400, field: 'trade' },
  { name: 'jobs list: unknown parameter', method: 'GET', path: '/api/jobs?sort=asc', status: 400, field: 'sort' },
  {
    name: 'jobs list: __proto__ parameter',
    method: 'GET',
    path: '/api/jobs?__proto__=x',
    status: 400,
    field: '__proto__',
  },
  {
    name: 'jobs list: bracket parameter',
    method: 'GET',
    path: '/api/jobs?status[$ne]=open',
    status: 400,
    field: /^status/,
  },
  {
    name: 'routings list: unknown status',
    method: 'GET',
    path: '/api/routings?status=done',
    status: 400,
    field: 'status',
  },
  {
    name: 'routings list: unknown provider',
    method: 'GET',
    path: '/api/routings?providerType=fieldedge',
    status: 400,
    field: 'providerType',
  },
  {
    name: 'routings list: jobId not a UUID',
    method: 'GET',
    path: '/api/routings?jobId=nope',
    status: 400,
    field: 'jobId',
  },
  { name: 'companies list: limit=-1', method: 'GET', path: '/api/companies?limit=-1', status: 400, field: 'limit' },
  {
    name: 'api keys list: percent garbage cursor',
    method: 'GET',
    path: '/api/api-keys?cursor=%%%',
    status: 400,
    field: 'cursor',
  },
  {
    name: 'technicians list: limit=500',
    method: 'GET',
    path: '/api/companies/{company}/technicians?limit=500',
    status: 400,
    field: 'limit',
  },

  // path ids
  { name: 'job: id not a UUID', method: 'GET', path: '/api/jobs/123', status: 400, field: 'id' },
  {
    name: 'job: id an SQL fragment',
    method: 'GET',
    path: `/api/jobs/${encodeURIComponent("' OR 1=1 --")}`,
    status: 400,
    field: 'id',
  },
  { name: 'job: id malformed percent-encoding', method: 'GET', path: '/api/jobs/%E0%A4%A', status: 400 },
  {
    name: 'company: id almost a UUID',
    method: 'GET',
    path: '/api/companies/00000000-0000-4000-8000-00000000000g',
    status: 400,
    field: 'id',
  },
  { name: 'routing: id not a UUID', method: 'GET', path: '/api/routings/nope', status: 400, field: 'id' },
  { name: 'routing retry: id not a UUID', method: 'POST', path: '/api/routings/nope/retry', status: 400, field: 'id' },
  { name: 'api key revoke: id not a UUID', method: 'DELETE', path: '/api/api-keys/nope', status: 400, field: 'id' },
];

// Text that betrays internals: stack frames, error class names, SQL, PostgreSQL wording, file paths.
const LEAKS = [
  /\bat \S+ \(/,
  /\.(ts|js):\d+/,
  /node_modules/,
  /Error:/,
  /\b(QueryFailed|TypeError|RangeError|SyntaxError|EntityNotFound)/,
  /\b(SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b/,
  /\b(violates|relation "|duplicate key|syntax error at)/,
  /cs\.secret|do-not-log/,
];

async function send(baseUrl: string, c: BadCase, ctx: Ctx): Promise<ApiResponse> {
  const path = c.path.replace('{company}', ctx.companyId).replace('{technician}', ctx.technicianId);
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...c.headers };
  let body: string | Buffer | undefined;
  if (c.body) {
    body = JSON.stringify(c.body(ctx));
    headers['content-type'] ??= 'application/json';
  } else if (c.raw) {
    body = c.raw(ctx);
  }
  const res = await fetch(`${baseUrl}${path}`, { method: c.method, headers, body });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let parsed: unknown = text;
  if (contentType.includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // left as text: the assertions below report it
    }
  }
  recordResponse(baseUrl, { method: c.method, path, status: res.status, headers: res.headers, body: parsed });
  return { status: res.status, body: parsed, headers: res.headers, contentType };
}

describe('Bad input on every endpoint that takes a body, a query or an id', () => {
  let t: TestApp;
  let admin: ApiClient;
  const ctx = {} as Ctx;

  beforeAll(async () => {
    await flushTestRedis();
    t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '100000' }, 'api');
    admin = apiClient(t.url, TEST_ADMIN_KEY);
    const network = await createNetwork(admin, 2);
    Object.assign(ctx, {
      companyId: network.referrer.id,
      technicianId: network.technician.id,
      targetIds: network.targets.map((c) => c.id),
      job: jobBody(network.referrer.id, network.technician.id, { targetCompanyIds: network.targets.map((c) => c.id) }),
    });
  });
  afterAll(() => t.close());

  it('covers at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const res = await send(t.url, c, ctx);
    const problem = expectProblem(res, c.status, typeof c.field === 'string' ? c.field : undefined);
    if (c.field instanceof RegExp) {
      expect((problem.errors ?? []).map((e: { field: string }) => e.field)).toContainEqual(
        expect.stringMatching(c.field),
      );
    }
    expect(problem.requestId).toEqual(expect.any(String));
    expect(res.headers.get('x-request-id')).toBe(problem.requestId);
    expect(problem.type).toMatch(/^https:\/\/|^about:blank$/);
    for (const error of problem.errors ?? [])
      expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
    const text = JSON.stringify(problem);
    for (const leak of LEAKS) expect(text).not.toMatch(leak);
    expect(text.length).toBeLessThan(4096); // nothing of a huge body is echoed back
  });

  it.each([
    ['malformed JSON', '{"summary": "MARKER-abc', 'application/json', 'body'],
    ['JSON with trailing text', '{"summary":"x"} MARKER-abc', 'application/json', 'body'],
    ['a JSON string', '"MARKER-abc"', 'application/json', 'body'],
    ['a latin1 charset', '{"summary":"MARKER-abc"}', 'application/json; charset=latin1', undefined],
  ])('never echoes the request in a problem: %s', async (_, raw, contentType, field) => {
    const res = await fetch(`${t.url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': contentType },
      body: raw,
    });
    const text = await res.text();
    recordResponse(t.url, {
      method: 'POST',
      path: '/api/jobs',
      status: res.status,
      headers: res.headers,
      body: JSON.parse(text),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(text).not.toMatch(/MARKER|latin1/i);
    if (field) expect(JSON.parse(text).errors).toEqual([{ field, message: 'is not valid JSON' }]);
  });

  it('never echoes a malformed path', async () => {
    const problem = expectProblem(await admin.get('/api/jobs/%E0%A4%AMARKER'), 400);
    expect(JSON.stringify(problem)).not.toMatch(/MARKER|%E0/);
  });

  it('was not polluted and still works afterwards', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect((await admin.get('/api/health/ready')).status).toBe(200);
    const created = await admin.post('/api/jobs', ctx.job);
    expect(created.status).toBe(201);
    expect(created.body.routings).toHaveLength(2);
  });

  it('rejected requests changed nothing', async () => {
    const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM companies WHERE name = 'Bad Input Co'`);
    expect(count).toBe(0);
    const technician = await admin.get(`/api/companies/${ctx.companyId}/technicians`);
    expect(technician.body.items).toEqual([expect.objectContaining({ firstName: 'Pat', isActive: true })]);
    const referrer = await admin.get(`/api/companies/${ctx.companyId}`);
    expect(referrer.body).toMatchObject({ isActive: true, trades: ['plumbing'] });
  });

  describe('what is valid stays valid', () => {
    it('accepts unicode names and null for optional fields', async () => {
      const c = await createCompany(admin, {
        name: 'Électricité Zoë 😀 ⚡',
        trades: null,
        serviceAreaZips: null,
        provider: null,
        isActive: null,
      });
      expect((await admin.get(`/api/companies/${c.id}`)).body).toMatchObject({
        name: 'Électricité Zoë 😀 ⚡',
        trades: [],
        provider: null,
        isActive: true,
      });
      const tech = await createTechnician(admin, c.id, {
        firstName: '李',
        lastName: "O'Brien-Núñez",
        phone: null,
        email: null,
      });
      expect(tech).toMatchObject({ firstName: '李', phone: null, email: null });
    });

    it('accepts upper-case UUIDs and treats them as the same ids', async () => {
      const res = await admin.post('/api/jobs', {
        ...ctx.job,
        companyId: ctx.companyId.toUpperCase(),
        technicianId: ctx.technicianId.toUpperCase(),
        targetCompanyIds: ctx.targetIds.map((id) => id.toUpperCase()),
        summary: 'Tabs\tand\nnewlines are fine',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        companyId: ctx.companyId,
        technicianId: ctx.technicianId,
        summary: 'Tabs\tand\nnewlines are fine',
      });
      expect(res.body.routings.map((r: { companyId: string }) => r.companyId).sort()).toEqual(
        [...ctx.targetIds].sort(),
      );
    });

    it('accepts gzip-encoded JSON', async () => {
      const res = await fetch(`${t.url}/api/companies`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TEST_ADMIN_KEY}`,
          'content-type': 'application/json; charset=utf-8',
          'content-encoding': 'gzip',
        },
        body: gzipSync(JSON.stringify({ name: 'Gzip Co' })),
      });
      const body = await res.json();
      recordResponse(t.url, { method: 'POST', path: '/api/companies', status: res.status, headers: res.headers, body });
      expect(res.status).toBe(201);
    });
  });
});
