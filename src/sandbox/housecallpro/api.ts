import { isJsonContentType, isoNow, isPlainObject, sendJson, type RequestContext, type RouteDef } from '../http';
import type { SandboxEnv, SandboxProviderInstance } from '../sandbox-provider';
import {
  HousecallProStore,
  hcpId,
  normalizePhone,
  toCustomerResponse,
  toHcpJobResponse,
  type HcpCompany,
  type HcpCustomer,
  type HcpJob,
} from './store';
import type { HcpAddress, HcpLineItem, HcpWorkStatus } from './types';

const DEFAULT_PAGE_SIZE = 10;
const CUSTOMER_STRING_FIELDS = [
  'first_name',
  'last_name',
  'email',
  'company',
  'mobile_number',
  'home_number',
  'work_number',
  'lead_source',
  'notes',
];
const MAX_PAGE_SIZE = 1000;

/** The work_status[] query filter uses its own tokens (providers.md 2.3). */
const WORK_STATUS_FILTER: Record<string, HcpWorkStatus[]> = {
  unscheduled: ['needs scheduling'],
  scheduled: ['scheduled'],
  in_progress: ['in progress'],
  completed: ['complete rated', 'complete unrated'],
  canceled: ['user canceled', 'pro canceled'],
};

type FieldErrors = Record<string, string[]>;

function sendError(
  ctx: RequestContext,
  status: number,
  message: string,
  headers: Record<string, string | number> = {},
): void {
  sendJson(ctx.res, status, { error: { message } }, headers);
}

/** Query values for `name` and `name[]`, as HCP sends arrays as param[]=value. */
function queryAll(url: URL, name: string): string[] {
  return [...url.searchParams.getAll(name), ...url.searchParams.getAll(`${name}[]`)]
    .flatMap((v) => v.split(','))
    .filter(Boolean);
}

function positiveInt(value: string | null, fallback: number): number {
  return value !== null && /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : fallback;
}

function paginate<T, R = T>(url: URL, items: T[], key: string, toResponse?: (item: T) => R): Record<string, unknown> {
  const page = positiveInt(url.searchParams.get('page'), 1);
  const pageSize = Math.min(positiveInt(url.searchParams.get('page_size'), DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const start = (page - 1) * pageSize;
  return {
    page,
    page_size: pageSize,
    total_pages: Math.ceil(items.length / pageSize),
    total_items: items.length,
    [key]: items.slice(start, start + pageSize).map((item) => (toResponse ? toResponse(item) : item)),
  };
}

function sortItems<T extends { seq: number; created_at: string; updated_at: string }>(
  url: URL,
  items: T[],
  extraKeys: Record<string, (item: T) => string | number> = {},
): T[] {
  const sortBy = url.searchParams.get('sort_by') ?? 'created_at';
  const direction = url.searchParams.get('sort_direction')?.toLowerCase() === 'asc' ? 1 : -1;
  const keys: Record<string, (item: T) => string | number> = {
    created_at: (i) => Date.parse(i.created_at),
    updated_at: (i) => Date.parse(i.updated_at),
    ...extraKeys,
  };
  const key = keys[sortBy] ?? keys.created_at;
  // Keys computed once per item: a company with tens of thousands of jobs sorts on every list request.
  return items
    .map((item) => ({ item, k: key(item) }))
    .sort((a, b) => {
      const primary = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
      return (primary || a.item.seq - b.item.seq) * direction;
    })
    .map((e) => e.item);
}

const optionalString = (v: unknown): string | null => (typeof v === 'string' ? v : v == null ? null : String(v));

function checkStrings(body: Record<string, unknown>, fields: string[], errors: FieldErrors): void {
  for (const f of fields) {
    const v = body[f];
    if (v !== undefined && v !== null && typeof v !== 'string') errors[f] = ['must be a string'];
  }
}

function checkStringArray(body: Record<string, unknown>, field: string, errors: FieldErrors): void {
  const v = body[field];
  if (v !== undefined && v !== null && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
    errors[field] = ['must be an array of strings'];
  }
}

function toAddress(input: Record<string, unknown>): HcpAddress {
  return {
    id: hcpId('adr'),
    type: input.type === 'billing' ? 'billing' : 'service',
    street: optionalString(input.street),
    street_line_2: optionalString(input.street_line_2),
    city: optionalString(input.city),
    state: optionalString(input.state),
    zip: optionalString(input.zip),
    country: optionalString(input.country),
  };
}

function customerMatches(customer: HcpCustomer, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  const text = [
    `${customer.first_name ?? ''} ${customer.last_name ?? ''}`,
    customer.email,
    customer.company,
    ...customer.addresses.map((a) => [a.street, a.street_line_2, a.city, a.state, a.zip].filter(Boolean).join(' ')),
  ];
  if (text.some((t) => t?.toLowerCase().includes(needle))) return true;
  // Short digit runs (house numbers, zips) must not match phone numbers.
  const digits = normalizePhone(q);
  if (digits.length < 7 || /[a-z@]/i.test(q)) return false;
  const phones = [customer.mobile_number, customer.home_number, customer.work_number];
  return phones.some((p) => normalizePhone(p).includes(digits));
}

function addNamed(list: { id: string; name: string }[], name: string | null, prefix: string): void {
  if (name && !list.some((t) => t.name === name)) list.push({ id: hcpId(prefix), name });
}

/** Housecall Pro's API paths (providers.md 2.2, 2.3). */
export const HOUSECALLPRO_PATH = /^\/(customers|jobs|tags|lead_sources)(\/|$)/;

type HousecallProApi = Pick<SandboxProviderInstance, 'routes' | 'authenticate' | 'sendError'>;

export function housecallProApi(
  store: HousecallProStore,
  env: SandboxEnv,
  hooks: { onJobCreated(jobId: string): void },
): HousecallProApi {
  /** The authenticated company: ctx.account is its api key id. */
  const company = (ctx: RequestContext): HcpCompany => store.getByKeyId(ctx.account as string) as HcpCompany;

  /** Parses the JSON body (an empty body counts as {}); answers 400/415 itself and returns null when unusable. */
  function jsonBody(ctx: RequestContext): Record<string, unknown> | null {
    if (ctx.rawBody.trim() === '') return {};
    if (!isJsonContentType(ctx.req)) {
      sendError(ctx, 415, 'Content-Type must be application/json');
      return null;
    }
    let body: unknown;
    try {
      body = JSON.parse(ctx.rawBody);
    } catch {
      sendError(ctx, 400, 'Malformed JSON in request body');
      return null;
    }
    if (!isPlainObject(body)) {
      sendError(ctx, 400, 'Request body must be a JSON object');
      return null;
    }
    return body;
  }

  function findCustomer(ctx: RequestContext): HcpCustomer | null {
    const customer = company(ctx).customers.get(ctx.params.id);
    if (!customer) sendError(ctx, 404, 'Customer not found');
    return customer ?? null;
  }

  function findJob(ctx: RequestContext): HcpJob | null {
    const job = company(ctx).jobs.get(ctx.params.id);
    if (!job) sendError(ctx, 404, 'Job not found');
    return job ?? null;
  }

  function namedList(key: 'tags' | 'lead_sources', prefix: string): RouteDef[] {
    const list = (ctx: RequestContext) => (key === 'tags' ? company(ctx).tags : company(ctx).leadSources);
    const path = `/${key}`;
    return [
      { method: 'GET', path, handler: (ctx) => sendJson(ctx.res, 200, paginate(ctx.url, list(ctx), key)) },
      {
        method: 'POST',
        path,
        handler: (ctx) => {
          const body = jsonBody(ctx);
          if (!body) return;
          if (typeof body.name !== 'string' || body.name.trim() === '') {
            return sendJson(ctx.res, 422, { errors: { name: ['is missing'] } });
          }
          if (list(ctx).some((t) => t.name === body.name)) return sendError(ctx, 422, 'Name has already been taken');
          const item = { id: hcpId(prefix), name: body.name };
          list(ctx).push(item);
          sendJson(ctx.res, 201, item);
        },
      },
    ];
  }

  const routes: RouteDef[] = [
    {
      method: 'GET',
      path: '/customers',
      handler: (ctx) => {
        const c = company(ctx);
        const q = ctx.url.searchParams.get('q') ?? '';
        const matching = sortItems(
          ctx.url,
          [...c.customers.values()].filter((cus) => customerMatches(cus, q)),
        );
        sendJson(
          ctx.res,
          200,
          paginate(ctx.url, matching, 'customers', (cus) => toCustomerResponse(c, cus)),
        );
      },
    },
    {
      method: 'POST',
      path: '/customers',
      handler: (ctx) => {
        const body = jsonBody(ctx);
        if (!body) return;
        const errors: FieldErrors = {};
        checkStrings(body, CUSTOMER_STRING_FIELDS, errors);
        checkStringArray(body, 'tags', errors);
        const addresses = body.addresses ?? [];
        if (!Array.isArray(addresses) || !addresses.every(isPlainObject)) {
          errors.addresses = ['must be an array of addresses'];
        }
        if (Object.keys(errors).length) return sendJson(ctx.res, 422, { errors });

        const c = company(ctx);
        const now = isoNow();
        const customer: HcpCustomer = {
          id: hcpId('cus'),
          seq: ++c.seq,
          first_name: optionalString(body.first_name),
          last_name: optionalString(body.last_name),
          email: optionalString(body.email),
          mobile_number: optionalString(body.mobile_number),
          home_number: optionalString(body.home_number),
          work_number: optionalString(body.work_number),
          company: optionalString(body.company),
          notifications_enabled: body.notifications_enabled === true,
          lead_source: optionalString(body.lead_source),
          notes: optionalString(body.notes),
          tags: (body.tags as string[] | undefined) ?? [],
          addresses: (addresses as Record<string, unknown>[]).map(toAddress),
          created_at: now,
          updated_at: now,
        };
        c.customers.set(customer.id, customer);
        customer.tags.forEach((t) => addNamed(c.tags, t, 'tag'));
        addNamed(c.leadSources, customer.lead_source, 'ls');
        sendJson(ctx.res, 201, toCustomerResponse(c, customer));
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}',
      handler: (ctx) => {
        const customer = findCustomer(ctx);
        if (customer) sendJson(ctx.res, 200, toCustomerResponse(company(ctx), customer));
      },
    },
    {
      method: 'GET',
      path: '/customers/{id}/addresses',
      handler: (ctx) => {
        const customer = findCustomer(ctx);
        if (customer) sendJson(ctx.res, 200, paginate(ctx.url, structuredClone(customer.addresses), 'addresses'));
      },
    },
    {
      method: 'POST',
      path: '/customers/{id}/addresses',
      handler: (ctx) => {
        const customer = findCustomer(ctx);
        if (!customer) return;
        const body = jsonBody(ctx);
        if (!body) return;
        const errors: FieldErrors = {};
        for (const f of ['street', 'city', 'state', 'zip', 'country']) {
          if (typeof body[f] !== 'string' || (body[f] as string).trim() === '') errors[f] = ['is missing'];
        }
        checkStrings(body, ['street_line_2'], errors);
        if (Object.keys(errors).length) return sendJson(ctx.res, 422, { errors });
        const address = toAddress(body);
        customer.addresses.push(address);
        customer.updated_at = isoNow();
        sendJson(ctx.res, 200, address);
      },
    },
    {
      method: 'GET',
      path: '/jobs',
      handler: (ctx) => {
        const c = company(ctx);
        const url = ctx.url;
        let jobs = [...c.jobs.values()];
        const customerId = url.searchParams.get('customer_id');
        if (customerId) jobs = jobs.filter((j) => j.customer_id === customerId);
        const statusTokens = queryAll(url, 'work_status');
        if (statusTokens.length) {
          const wanted = statusTokens.flatMap((t) => WORK_STATUS_FILTER[t] ?? [t as HcpWorkStatus]);
          jobs = jobs.filter((j) => wanted.includes(j.work_status));
        }
        const bounds: [string, (j: HcpJob) => string | null, 'min' | 'max'][] = [
          ['scheduled_start_min', (j) => j.schedule.scheduled_start, 'min'],
          ['scheduled_start_max', (j) => j.schedule.scheduled_start, 'max'],
          ['scheduled_end_min', (j) => j.schedule.scheduled_end, 'min'],
          ['scheduled_end_max', (j) => j.schedule.scheduled_end, 'max'],
        ];
        for (const [name, get, kind] of bounds) {
          const bound = Date.parse(url.searchParams.get(name) ?? '');
          if (Number.isNaN(bound)) continue;
          jobs = jobs.filter((j) => {
            const v = get(j);
            return v !== null && (kind === 'min' ? Date.parse(v) >= bound : Date.parse(v) <= bound);
          });
        }
        const sorted = sortItems(url, jobs, {
          invoice_number: (j) => Number(j.invoice_number) || j.invoice_number,
          id: (j) => j.id,
          work_status: (j) => j.work_status,
          description: (j) => j.description ?? '',
        });
        sendJson(
          ctx.res,
          200,
          paginate(url, sorted, 'jobs', (j) => toHcpJobResponse(c, j)),
        );
      },
    },
    {
      method: 'POST',
      path: '/jobs',
      handler: (ctx) => {
        const body = jsonBody(ctx);
        if (!body) return;
        const errors: FieldErrors = {};
        for (const f of ['customer_id', 'address_id']) {
          if (typeof body[f] !== 'string' || (body[f] as string).trim() === '') errors[f] = ['is missing'];
        }
        checkStrings(body, ['lead_source', 'notes', 'description'], errors);
        checkStringArray(body, 'tags', errors);
        const lineItems = body.line_items ?? [];
        const validItem = (li: unknown) =>
          isPlainObject(li) &&
          typeof li.name === 'string' &&
          (li.unit_price === undefined || Number.isInteger(li.unit_price)) &&
          (li.quantity === undefined || typeof li.quantity === 'number');
        if (!Array.isArray(lineItems) || !lineItems.every(validItem)) {
          errors.line_items = ['must be an array of {name, unit_price (integer cents), quantity}'];
        }
        const schedule = body.schedule ?? {};
        if (!isPlainObject(schedule)) errors.schedule = ['must be an object'];
        else {
          for (const f of ['scheduled_start', 'scheduled_end']) {
            const v = schedule[f];
            const valid = v === undefined || v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
            if (!valid) errors[`schedule.${f}`] = ['is invalid'];
          }
        }
        const invoiceNo = body.invoice_number;
        if (invoiceNo !== undefined && invoiceNo !== null && !['string', 'number'].includes(typeof invoiceNo)) {
          errors.invoice_number = ['must be a string'];
        }
        if (Object.keys(errors).length) return sendJson(ctx.res, 422, { errors });

        const c = company(ctx);
        const customer = c.customers.get(body.customer_id as string);
        if (!customer) return sendError(ctx, 422, `Customer ${String(body.customer_id)} not found`);
        if (!customer.addresses.some((a) => a.id === body.address_id)) {
          return sendError(ctx, 422, `Address ${String(body.address_id)} not found for customer ${customer.id}`);
        }
        let invoiceNumber = optionalString(body.invoice_number);
        if (invoiceNumber && c.invoiceNumbers.has(invoiceNumber)) {
          return sendError(ctx, 422, 'Invoice number has already been taken');
        }
        while (!invoiceNumber || c.invoiceNumbers.has(invoiceNumber)) invoiceNumber = String(c.nextInvoiceNumber++);
        c.invoiceNumbers.add(invoiceNumber);

        const items: HcpLineItem[] = (lineItems as Record<string, unknown>[]).map((li) => ({
          name: li.name as string,
          description: optionalString(li.description),
          unit_price: (li.unit_price as number | undefined) ?? 0,
          quantity: (li.quantity as number | undefined) ?? 1,
          unit_cost: typeof li.unit_cost === 'number' ? li.unit_cost : null,
        }));
        const subtotal = Math.round(items.reduce((sum, li) => sum + li.unit_price * li.quantity, 0));
        const sched = schedule as Record<string, unknown>;
        const scheduledStart = optionalString(sched.scheduled_start);
        const now = isoNow();
        const jobFields = isPlainObject(body.job_fields) ? body.job_fields : {};
        const job: HcpJob = {
          id: hcpId('job'),
          seq: ++c.seq,
          customer_id: customer.id,
          address_id: body.address_id as string,
          invoice_number: invoiceNumber,
          description: optionalString(body.description),
          notes: optionalString(body.notes),
          work_status: scheduledStart ? 'scheduled' : 'needs scheduling',
          work_timestamps: { on_my_way_at: null, started_at: null, completed_at: null },
          schedule: {
            scheduled_start: scheduledStart ? new Date(scheduledStart).toISOString() : null,
            scheduled_end: typeof sched.scheduled_end === 'string' ? new Date(sched.scheduled_end).toISOString() : null,
            arrival_window: typeof sched.arrival_window === 'number' ? sched.arrival_window : 0,
          },
          total_amount: subtotal,
          subtotal,
          outstanding_balance: subtotal,
          tags: (body.tags as string[] | undefined) ?? [],
          lead_source: optionalString(body.lead_source),
          line_items: items,
          job_fields: { job_type: jobFields.job_type_id ?? null, business_unit: jobFields.business_unit_id ?? null },
          canceled_at: null,
          deleted_at: null,
          created_at: now,
          updated_at: now,
        };
        c.jobs.set(job.id, job);
        job.tags.forEach((t) => addNamed(c.tags, t, 'tag'));
        addNamed(c.leadSources, job.lead_source, 'ls');
        hooks.onJobCreated(job.id);
        if (env.shouldTimeoutAfterCreate()) return ctx.hold();
        sendJson(ctx.res, 201, toHcpJobResponse(c, job));
      },
    },
    {
      method: 'GET',
      path: '/jobs/{id}',
      handler: (ctx) => {
        const job = findJob(ctx);
        if (job) sendJson(ctx.res, 200, toHcpJobResponse(company(ctx), job));
      },
    },
    {
      method: 'GET',
      path: '/jobs/{id}/invoices',
      handler: (ctx) => {
        const job = findJob(ctx);
        if (job) sendJson(ctx.res, 200, { invoices: structuredClone(company(ctx).invoices.get(job.id) ?? []) });
      },
    },
    ...namedList('tags', 'tag'),
    ...namedList('lead_sources', 'ls'),
  ];

  return {
    routes,
    authenticate(ctx) {
      const token = /^Token\s+(\S+)\s*$/.exec(ctx.req.headers.authorization ?? '');
      const apiKey = token?.[1];
      const known = apiKey && (store.get(apiKey) ?? (env.options().autoRegister ? store.register(apiKey, true) : null));
      if (!apiKey || !known) {
        // Missing, unknown and Bearer-style credentials all get the identical body (providers.md 2.1).
        sendJson(ctx.res, 401, { message: 'Unauthorized' });
        return false;
      }
      // One api key is one company: the key id names both the account and the credential, never the key.
      ctx.account = known.keyId;
      ctx.credential = known.keyId;
      return true;
    },
    sendError,
  };
}
