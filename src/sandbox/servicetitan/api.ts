import { randomBytes } from 'node:crypto';

import { isJsonContentType, isoNow, isPlainObject, sendJson, type RequestContext, type RouteDef } from '../http';
import type { SandboxEnv, SandboxProviderInstance } from '../sandbox-provider';
import { ServiceTitanStore, toBookingResponse, toInvoiceResponse, toJobResponse, type StBooking } from './store';
import type { StAddress, StApiErrorResponse, StContact, StInvoiceRecord, StJobRecord, StPage } from './types';

const MAX_IDS = 50;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 5000;
const CONTACT_TYPES = ['Phone', 'Email', 'Fax', 'MobilePhone'] as const;
const CUSTOMER_TYPES = ['Residential', 'Commercial'];
const PRIORITIES = ['Low', 'Normal', 'High', 'Urgent'];
const JOB_STATUSES = ['Scheduled', 'InProgress', 'Hold', 'Completed', 'Canceled'];
const SCOPE = 'tn.crm.bookings:r tn.crm.bookings:w tn.jpm.jobs:r tn.acc.invoices:r';

const PROBLEM_TYPES: Record<number, string> = {
  400: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
  401: 'https://tools.ietf.org/html/rfc7235#section-3.1',
  404: 'https://tools.ietf.org/html/rfc7231#section-6.5.4',
  405: 'https://tools.ietf.org/html/rfc7231#section-6.5.5',
  409: 'https://tools.ietf.org/html/rfc7231#section-6.5.8',
  413: 'https://tools.ietf.org/html/rfc7231#section-6.5.11',
  415: 'https://tools.ietf.org/html/rfc7231#section-6.5.13',
  429: 'https://tools.ietf.org/html/rfc6585#section-4',
  500: 'https://tools.ietf.org/html/rfc7231#section-6.6.1',
  502: 'https://tools.ietf.org/html/rfc7231#section-6.6.3',
  503: 'https://tools.ietf.org/html/rfc7231#section-6.6.4',
  504: 'https://tools.ietf.org/html/rfc7231#section-6.6.5',
};

const TITLES: Record<number, string> = {
  400: 'One or more validation errors occurred.',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** ApiErrorResponse, ASP.NET ProblemDetails style (providers.md 1.5). */
export function problem(status: number, errors: Record<string, string[]> = {}, detail?: string): StApiErrorResponse {
  return {
    type: PROBLEM_TYPES[status] ?? `https://httpstatuses.io/${status}`,
    title: TITLES[status] ?? 'Error',
    status,
    traceId: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
    errors,
    data: {},
    ...(detail ? { detail } : {}),
  };
}

function sendProblem(
  ctx: RequestContext,
  status: number,
  errors: Record<string, string[]> = {},
  detail?: string,
  headers: Record<string, string | number> = {},
): void {
  sendJson(ctx.res, status, problem(status, errors, detail), headers);
}

const pascal = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
const notValid = (value: string): string[] => [`The value '${value}' is not valid.`];

/** ASP.NET binds query parameters case-insensitively and ignores the ones it does not know. */
class Query {
  readonly errors: Record<string, string[]> = {};
  private readonly values = new Map<string, string>();

  constructor(url: URL) {
    for (const [key, value] of url.searchParams) {
      if (!this.values.has(key.toLowerCase())) this.values.set(key.toLowerCase(), value);
    }
  }

  str(name: string): string | undefined {
    const v = this.values.get(name.toLowerCase());
    return v === undefined || v === '' ? undefined : v;
  }

  int(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v.trim())) this.errors[pascal(name)] = notValid(v);
    return Number(v);
  }

  bool(name: string): boolean | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^(true|false)$/i.test(v)) this.errors[pascal(name)] = notValid(v);
    return v.toLowerCase() === 'true';
  }

  date(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (Number.isNaN(t)) this.errors[pascal(name)] = notValid(v);
    return t;
  }

  ids(name: string): number[] | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const parts = v
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (parts.some((p) => !/^\d+$/.test(p))) {
      this.errors[pascal(name)] = notValid(v);
      return [];
    }
    if (parts.length > MAX_IDS) {
      this.errors[pascal(name)] = [`Simple IDs lookup should not contain more than ${MAX_IDS} elements`];
    }
    return parts.map(Number);
  }
}

interface Paged {
  id: number;
  createdOn: string;
  modifiedOn: string;
}

type Filter<T> = (item: T) => boolean;

function dateFilters<T>(q: Query, pairs: [string, (item: T) => string | null, 'min' | 'max'][]): Filter<T>[] {
  const filters: Filter<T>[] = [];
  for (const [name, get, kind] of pairs) {
    const bound = q.date(name);
    if (bound === undefined || Number.isNaN(bound)) continue;
    filters.push((item) => {
      const v = get(item);
      if (v === null) return false;
      return kind === 'min' ? Date.parse(v) >= bound : Date.parse(v) < bound;
    });
  }
  return filters;
}

const CREATED_MODIFIED: [string, (item: Paged) => string | null, 'min' | 'max'][] = [
  ['createdOnOrAfter', (i) => i.createdOn, 'min'],
  ['createdBefore', (i) => i.createdOn, 'max'],
  ['modifiedOnOrAfter', (i) => i.modifiedOn, 'min'],
  ['modifiedBefore', (i) => i.modifiedOn, 'max'],
];

/** Sorts, pages and answers; the caller has already added its filters to the query errors. */
function sendPage<T extends Paged, R>(
  ctx: RequestContext,
  q: Query,
  items: T[],
  filters: Filter<T>[],
  toResponse: (item: T) => R,
): void {
  const page = q.int('page') ?? 1;
  const pageSize = q.int('pageSize') ?? DEFAULT_PAGE_SIZE;
  const includeTotal = q.bool('includeTotal') ?? false;
  if (Object.keys(q.errors).length > 0) return sendProblem(ctx, 400, q.errors);

  // "+" in a query string decodes to a space, so "sort=+Id" arrives as " Id".
  const sort = /^([+\- ]?)(Id|ModifiedOn|CreatedOn)$/i.exec(q.str('sort') ?? '');
  const field = (sort?.[2].toLowerCase() ?? 'id') as 'id' | 'modifiedon' | 'createdon';
  const direction = sort?.[1] === '-' ? -1 : 1;
  const key = (item: T): number =>
    field === 'id' ? item.id : Date.parse(field === 'createdon' ? item.createdOn : item.modifiedOn);

  const matching = items
    .filter((item) => filters.every((f) => f(item)))
    .sort((a, b) => (key(a) - key(b) || a.id - b.id) * direction);
  const size = Math.min(Math.max(pageSize, 1), MAX_PAGE_SIZE);
  const pageNo = Math.max(page, 1);
  const start = (pageNo - 1) * size;
  const body: StPage<R> = {
    page: pageNo,
    pageSize: size,
    hasMore: start + size < matching.length,
    ...(includeTotal ? { totalCount: matching.length } : {}),
    data: matching.slice(start, start + size).map(toResponse),
  };
  sendJson(ctx.res, 200, body);
}

// ---- Request body validation (Crm.V2.CreateBookingRequest) ----

type FieldKind = 'string' | 'boolean' | 'int64' | 'datetime' | 'string[]';
const CLR_TYPES: Record<FieldKind, string> = {
  string: 'System.String',
  boolean: 'System.Boolean',
  int64: 'System.Nullable`1[System.Int64]',
  datetime: 'System.Nullable`1[System.DateTime]',
  'string[]': 'System.String[]',
};

const BOOKING_FIELDS: Record<string, FieldKind> = {
  source: 'string',
  name: 'string',
  summary: 'string',
  externalId: 'string',
  isFirstTimeClient: 'boolean',
  isSendConfirmationEmail: 'boolean',
  campaignId: 'int64',
  businessUnitId: 'int64',
  jobTypeId: 'int64',
  start: 'datetime',
  uploadedImages: 'string[]',
  customerType: 'string',
  priority: 'string',
};
const BOOKING_REQUIRED = ['source', 'name', 'summary', 'isFirstTimeClient', 'externalId'];
const ADDRESS_REQUIRED = ['street', 'city', 'state', 'zip', 'country'];

function kindMatches(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'int64':
      return Number.isSafeInteger(v);
    case 'datetime':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v));
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
  }
}

const required = (field: string): string[] => [`The ${pascal(field)} field is required.`];
const typeError = (path: string, kind: FieldKind): string[] => [
  `The JSON value could not be converted to ${CLR_TYPES[kind]}. Path: ${path}`,
];
const isBlank = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

function validateAddress(value: unknown, errors: Record<string, string[]>): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    errors['$.address'] = ['The JSON value could not be converted to Crm.V2.BookingAddressInput. Path: $.address'];
    return;
  }
  for (const field of [...ADDRESS_REQUIRED, 'unit']) {
    const v = value[field];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      errors[`$.address.${field}`] = typeError(`$.address.${field}`, 'string');
    } else if (ADDRESS_REQUIRED.includes(field) && isBlank(v)) errors[`Address.${pascal(field)}`] = required(field);
  }
}

/** `prefix` is "Contacts[0]." inside a booking, "" for a contact posted on its own. */
function validateContact(c: unknown, prefix: string, jsonPath: string, errors: Record<string, string[]>): void {
  if (!isPlainObject(c)) {
    errors[jsonPath] = [`The JSON value could not be converted to Crm.V2.BookingContactInput. Path: ${jsonPath}`];
    return;
  }
  if (isBlank(c.type)) errors[`${prefix}Type`] = required('type');
  else if (!(CONTACT_TYPES as readonly unknown[]).includes(c.type)) errors[`${prefix}Type`] = notValid(String(c.type));
  if (isBlank(c.value) || typeof c.value !== 'string') errors[`${prefix}Value`] = required('value');
}

function validateContacts(value: unknown, errors: Record<string, string[]>): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    errors['$.contacts'] = ['The JSON value could not be converted to Crm.V2.BookingContactInput[]. Path: $.contacts'];
    return;
  }
  value.forEach((c: unknown, i) => validateContact(c, `Contacts[${i}].`, `$.contacts[${i}]`, errors));
}

/** Returns field errors, empty when valid. `partial` is for PATCH, where nothing is required. */
function validateBookingBody(body: Record<string, unknown>, partial: boolean): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const [field, kind] of Object.entries(BOOKING_FIELDS)) {
    const v = body[field];
    if (v !== undefined && v !== null && !kindMatches(kind, v)) errors[`$.${field}`] = typeError(`$.${field}`, kind);
  }
  if (!partial) {
    for (const field of BOOKING_REQUIRED) {
      if (!errors[`$.${field}`] && isBlank(body[field])) errors[pascal(field)] = required(field);
    }
  }
  if (typeof body.customerType === 'string' && !CUSTOMER_TYPES.includes(body.customerType)) {
    errors.CustomerType = notValid(body.customerType);
  }
  if (typeof body.priority === 'string' && !PRIORITIES.includes(body.priority)) {
    errors.Priority = notValid(body.priority);
  }
  validateAddress(body.address, errors);
  validateContacts(body.contacts, errors);
  if (!partial && Object.keys(errors).length === 0) {
    // Docs: "a name and either an address or phone number/email are required".
    const contacts = (body.contacts as { type: string }[] | undefined) ?? [];
    const reachable = contacts.some((c) => c.type !== 'Fax');
    if (!body.address && !reachable) {
      errors.Address = ['Either an address or a phone number/email contact is required.'];
    }
  }
  return errors;
}

function toAddress(value: unknown): StAddress | null {
  if (!isPlainObject(value)) return null;
  return {
    street: String(value.street),
    unit: typeof value.unit === 'string' ? value.unit : null,
    city: String(value.city),
    state: String(value.state),
    zip: String(value.zip),
    country: String(value.country),
  };
}

const optional = <T>(v: unknown): T | null => (v === undefined ? null : (v as T | null));

/** ServiceTitan's API paths: the token endpoint and /{module}/v2/tenant/… (providers.md 1.1). */
export const SERVICETITAN_PATH = /^\/(connect\/token$|[\w-]+\/v2\/tenant\/)/;

type ServiceTitanApi = Pick<SandboxProviderInstance, 'routes' | 'authenticate' | 'sendError'>;

export function serviceTitanApi(
  store: ServiceTitanStore,
  env: SandboxEnv,
  hooks: { onBookingCreated(bookingId: number): void },
): ServiceTitanApi {
  /** Reads the JSON body; answers 400/415 itself and returns null when unusable. */
  function jsonBody(ctx: RequestContext): Record<string, unknown> | null {
    if (!isJsonContentType(ctx.req)) {
      sendProblem(ctx, 415);
      return null;
    }
    if (ctx.rawBody.trim() === '') {
      sendProblem(ctx, 400, { '': ['A non-empty request body is required.'] });
      return null;
    }
    let body: unknown;
    try {
      body = JSON.parse(ctx.rawBody);
    } catch (e) {
      sendProblem(ctx, 400, { $: [`The JSON value is not valid: ${(e as Error).message}`] });
      return null;
    }
    if (!isPlainObject(body)) {
      sendProblem(ctx, 400, { $: ['The JSON value could not be converted to the request type. Path: $'] });
      return null;
    }
    return body;
  }

  /** Path ids are int64: anything else is a 400 as in ASP.NET model binding. */
  function pathInts(ctx: RequestContext, names: string[]): Record<string, number> | null {
    const out: Record<string, number> = {};
    const errors: Record<string, string[]> = {};
    for (const name of names) {
      const v = ctx.params[name];
      if (/^\d+$/.test(v)) out[name] = Number(v);
      else errors[name] = notValid(v);
    }
    if (Object.keys(errors).length) {
      sendProblem(ctx, 400, errors);
      return null;
    }
    return out;
  }

  /** Resolves {tenant}/{bookingProvider}; answers 404 when the tenant does not use this booking provider. */
  function providerScope(ctx: RequestContext): { tenant: string; bookingProviderId: number } | null {
    const ints = pathInts(ctx, ['tenant', 'bookingProvider']);
    if (!ints) return null;
    const tenant = String(ints.tenant);
    if (!store.acceptsBookingProvider(tenant, String(ints.bookingProvider))) {
      sendProblem(ctx, 404, {}, `Booking provider ${ints.bookingProvider} is not connected to tenant ${tenant}`);
      return null;
    }
    return { tenant, bookingProviderId: ints.bookingProvider };
  }

  function findBooking(ctx: RequestContext, tenant: string, bookingProviderId: number | null): StBooking | null {
    const ids = pathInts(ctx, ['id']);
    if (!ids) return null;
    const booking = store.bookings.get(ids.id);
    const otherProvider = bookingProviderId !== null && booking?.bookingProviderId !== bookingProviderId;
    if (!booking || booking.tenantId !== tenant || otherProvider) {
      sendProblem(ctx, 404, {}, `Booking with ID ${ids.id} not found`);
      return null;
    }
    return booking;
  }

  function bookingsFor(tenant: string, bookingProviderId: number | null): StBooking[] {
    return [...store.bookings.values()].filter(
      (b) => b.tenantId === tenant && (bookingProviderId === null || b.bookingProviderId === bookingProviderId),
    );
  }

  function listBookings(ctx: RequestContext, tenant: string, bookingProviderId: number | null): void {
    const q = new Query(ctx.url);
    const filters: Filter<StBooking>[] = dateFilters<StBooking>(q, CREATED_MODIFIED);
    const ids = q.ids('ids');
    if (ids) filters.push((b) => ids.includes(b.id));
    const externalId = q.str('externalId');
    if (externalId !== undefined) filters.push((b) => b.externalId === externalId);
    sendPage(ctx, q, bookingsFor(tenant, bookingProviderId), filters, toBookingResponse);
  }

  function contactsPage(ctx: RequestContext, booking: StBooking): void {
    const q = new Query(ctx.url);
    const contacts = booking.contacts.map((c) => ({ ...c, createdOn: c.modifiedOn }));
    sendPage(ctx, q, contacts, [], ({ id, type, value, memo, modifiedOn }) => ({ id, type, value, memo, modifiedOn }));
  }

  function newContact(input: Record<string, unknown>, now: string): StContact {
    return {
      id: store.nextId('other'),
      type: input.type as StContact['type'],
      value: String(input.value),
      memo: typeof input.memo === 'string' ? input.memo : null,
      modifiedOn: now,
    };
  }

  const routes: RouteDef[] = [
    {
      method: 'POST',
      path: '/connect/token',
      public: true,
      handler: (ctx) => {
        const oauthError = (status: number, error: string) =>
          sendJson(ctx.res, status, { error }, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
        if (!/application\/x-www-form-urlencoded/i.test(ctx.req.headers['content-type'] ?? '')) {
          return oauthError(400, 'invalid_request');
        }
        const form = new URLSearchParams(ctx.rawBody);
        let clientId = form.get('client_id');
        let clientSecret = form.get('client_secret');
        const basic = /^Basic\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
        if (basic) {
          const [id, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
          clientId = decodeURIComponent(id);
          clientSecret = decodeURIComponent(secret.join(':'));
        }
        if (!clientId || !clientSecret) return oauthError(400, 'invalid_client');
        if (!store.checkClient(clientId, clientSecret, env.options().autoRegister).ok) {
          return oauthError(400, 'invalid_client');
        }
        const grantType = form.get('grant_type');
        if (!grantType) return oauthError(400, 'invalid_request');
        if (grantType !== 'client_credentials') return oauthError(400, 'unsupported_grant_type');
        const ttl = env.options().tokenTtlSeconds;
        sendJson(
          ctx.res,
          200,
          { access_token: store.issueToken(clientId, ttl), expires_in: ttl, token_type: 'Bearer', scope: SCOPE },
          { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
        );
      },
    },
    {
      method: 'POST',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        if (!scope) return;
        const body = jsonBody(ctx);
        if (!body) return;
        const errors = validateBookingBody(body, false);
        if (Object.keys(errors).length) return sendProblem(ctx, 400, errors);
        const now = isoNow();
        const booking: StBooking = {
          tenantId: scope.tenant,
          appKey: String(ctx.req.headers['st-app-key']).trim(),
          contacts: ((body.contacts as Record<string, unknown>[] | undefined) ?? []).map((c) => newContact(c, now)),
          id: store.nextId('booking'),
          source: body.source as string,
          createdOn: now,
          name: body.name as string,
          address: toAddress(body.address),
          customerType: optional<string>(body.customerType),
          start: body.start ? new Date(body.start as string).toISOString() : null,
          summary: body.summary as string,
          campaignId: optional<number>(body.campaignId),
          businessUnitId: optional<number>(body.businessUnitId),
          isFirstTimeClient: body.isFirstTimeClient as boolean,
          uploadedImages: (body.uploadedImages as string[] | undefined) ?? [],
          isSendConfirmationEmail: (body.isSendConfirmationEmail as boolean | undefined) ?? false,
          status: 'New',
          dismissingReasonId: null,
          jobId: null,
          externalId: body.externalId as string,
          priority: optional<string>(body.priority),
          jobTypeId: optional<number>(body.jobTypeId),
          bookingProviderId: scope.bookingProviderId,
          modifiedOn: now,
        };
        store.bookings.set(booking.id, booking);
        hooks.onBookingCreated(booking.id);
        if (env.shouldTimeoutAfterCreate()) return ctx.hold();
        sendJson(ctx.res, 200, toBookingResponse(booking));
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        if (scope) listBookings(ctx, scope.tenant, scope.bookingProviderId);
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings/{id}',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        const booking = scope && findBooking(ctx, scope.tenant, scope.bookingProviderId);
        if (booking) sendJson(ctx.res, 200, toBookingResponse(booking));
      },
    },
    {
      method: 'PATCH',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings/{id}',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        const booking = scope && findBooking(ctx, scope.tenant, scope.bookingProviderId);
        if (!booking) return;
        const body = jsonBody(ctx);
        if (!body) return;
        const errors = validateBookingBody(body, true);
        if (Object.keys(errors).length) return sendProblem(ctx, 400, errors);
        if (booking.status !== 'New') {
          return sendProblem(ctx, 409, {}, `Booking ${booking.id} is ${booking.status} and can no longer be updated`);
        }
        const fields = ['source', 'name', 'summary', 'externalId', 'isFirstTimeClient', 'customerType', 'campaignId'];
        fields.push('businessUnitId', 'jobTypeId', 'priority', 'uploadedImages');
        const target = booking as unknown as Record<string, unknown>;
        for (const field of fields) if (body[field] !== undefined) target[field] = body[field];
        if (body.address !== undefined) booking.address = toAddress(body.address);
        if (typeof body.start === 'string') booking.start = new Date(body.start).toISOString();
        booking.modifiedOn = isoNow();
        sendJson(ctx.res, 200, toBookingResponse(booking));
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings/{id}/contacts',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        const booking = scope && findBooking(ctx, scope.tenant, scope.bookingProviderId);
        if (booking) contactsPage(ctx, booking);
      },
    },
    {
      method: 'POST',
      path: '/crm/v2/tenant/{tenant}/booking-provider/{bookingProvider}/bookings/{id}/contacts',
      handler: (ctx) => {
        const scope = providerScope(ctx);
        const booking = scope && findBooking(ctx, scope.tenant, scope.bookingProviderId);
        if (!booking) return;
        const body = jsonBody(ctx);
        if (!body) return;
        const errors: Record<string, string[]> = {};
        validateContact(body, '', '$', errors);
        if (Object.keys(errors).length) return sendProblem(ctx, 400, errors);
        const contact = newContact(body, isoNow());
        booking.contacts.push(contact);
        sendJson(ctx.res, 200, contact);
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/bookings',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant']);
        if (ints) listBookings(ctx, String(ints.tenant), null);
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/bookings/{id}',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant']);
        const booking = ints && findBooking(ctx, String(ints.tenant), null);
        if (booking) sendJson(ctx.res, 200, toBookingResponse(booking));
      },
    },
    {
      method: 'GET',
      path: '/crm/v2/tenant/{tenant}/bookings/{id}/contacts',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant']);
        const booking = ints && findBooking(ctx, String(ints.tenant), null);
        if (booking) contactsPage(ctx, booking);
      },
    },
    {
      method: 'GET',
      path: '/jpm/v2/tenant/{tenant}/jobs',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant']);
        if (!ints) return;
        const tenant = String(ints.tenant);
        const q = new Query(ctx.url);
        const filters: Filter<StJobRecord>[] = dateFilters<StJobRecord>(q, [
          ...CREATED_MODIFIED,
          ['completedOnOrAfter', (j) => j.completedOn, 'min'],
          ['completedBefore', (j) => j.completedOn, 'max'],
        ]);
        const ids = q.ids('ids');
        if (ids) filters.push((j) => ids.includes(j.id));
        const idFilters = [
          'bookingId',
          'customerId',
          'locationId',
          'invoiceId',
          'campaignId',
          'businessUnitId',
          'jobTypeId',
        ];
        for (const field of idFilters as (keyof StJobRecord)[]) {
          const v = q.int(field);
          if (v !== undefined) filters.push((j) => j[field] === v);
        }
        const number = q.str('number');
        if (number !== undefined) filters.push((j) => j.jobNumber === number);
        const jobStatus = q.str('jobStatus');
        if (jobStatus !== undefined) {
          const status = JOB_STATUSES.find((s) => s.toLowerCase() === jobStatus.toLowerCase());
          if (!status) q.errors.JobStatus = notValid(jobStatus);
          filters.push((j) => j.jobStatus === status);
        }
        const jobs = [...store.jobs.values()].filter((j) => j.tenantId === tenant);
        sendPage(ctx, q, jobs, filters, toJobResponse);
      },
    },
    {
      method: 'GET',
      path: '/jpm/v2/tenant/{tenant}/jobs/{id}',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant', 'id']);
        if (!ints) return;
        const job = store.jobs.get(ints.id);
        if (!job || job.tenantId !== String(ints.tenant)) {
          return sendProblem(ctx, 404, {}, `Job with ID ${ints.id} not found`);
        }
        sendJson(ctx.res, 200, toJobResponse(job));
      },
    },
    {
      method: 'GET',
      path: '/accounting/v2/tenant/{tenant}/invoices',
      handler: (ctx) => {
        const ints = pathInts(ctx, ['tenant']);
        if (!ints) return;
        const tenant = String(ints.tenant);
        const q = new Query(ctx.url);
        const filters: Filter<StInvoiceRecord>[] = dateFilters<StInvoiceRecord>(q, [
          ['modifiedOnOrAfter', (i) => i.modifiedOn, 'min'],
          ['modifiedBefore', (i) => i.modifiedOn, 'max'],
          ['invoicedOnOrAfter', (i) => i.invoiceDate, 'min'],
          ['invoicedOnBefore', (i) => i.invoiceDate, 'max'],
        ]);
        const ids = q.ids('ids');
        if (ids) filters.push((i) => ids.includes(i.id));
        const jobId = q.int('jobId');
        if (jobId !== undefined) filters.push((i) => i.jobId === jobId);
        const customerId = q.int('customerId');
        if (customerId !== undefined) filters.push((i) => i.customer.id === customerId);
        const jobNumber = q.str('jobNumber');
        if (jobNumber !== undefined) filters.push((i) => i.job.number === jobNumber);
        const statuses = q.str('statuses');
        if (statuses !== undefined) {
          const wanted = statuses.split(',').map((s) => s.trim().toLowerCase());
          filters.push((i) => wanted.includes(i.syncStatus.toLowerCase()));
        }
        const invoices = [...store.invoices.values()].filter((i) => i.tenantId === tenant);
        sendPage(ctx, q, invoices, filters, toInvoiceResponse);
      },
    },
  ];

  return {
    routes,
    authenticate(ctx) {
      const unauthorized = (detail: string, challenge = 'Bearer') => {
        sendProblem(ctx, 401, {}, detail, { 'WWW-Authenticate': challenge });
        return false;
      };
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
      if (!bearer) return unauthorized('Authorization: Bearer <access token> is required');
      const check = store.checkToken(bearer[1], ctx.params.tenant);
      if (!check.ok) {
        if (check.reason === 'expired') {
          const at = new Date(check.expiredAt ?? 0).toUTCString();
          const description = `The token expired at '${at}'`;
          return unauthorized(description, `Bearer error="invalid_token", error_description="${description}"`);
        }
        if (check.reason === 'tenant_forbidden') {
          return unauthorized(`The client is not connected to tenant ${ctx.params.tenant}`);
        }
        return unauthorized('The access token is invalid', 'Bearer error="invalid_token"');
      }
      const appKey = ctx.req.headers['st-app-key'];
      if (typeof appKey !== 'string' || appKey.trim() === '') return unauthorized('The ST-App-Key header is required');
      ctx.account = ctx.params.tenant;
      ctx.credential = check.clientId;
      return true;
    },
    sendError(ctx, status, message, headers) {
      sendProblem(ctx, status, {}, message, headers);
    },
  };
}
