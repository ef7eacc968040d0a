import { GraphQLError, type GraphQLFieldResolver } from 'graphql';

import { isoNow } from '../http';
import { decodeId, type Account, type JobberStore } from './store';
import type {
  JobberClientRecord,
  JobberJobRecord,
  JobberPropertyRecord,
  JobberRequestRecord,
  JobberVisitRecord,
} from './types';

/** What one GraphQL call runs with: the authenticated account, and what the mutations leave behind. */
export interface JobberCallContext {
  store: JobberStore;
  account: Account;
  /** Set by requestCreate when the timeout-after-create fault hits: the server never answers. */
  hold: boolean;
  /** Called with each request created (auto-lifecycle, webhooks). */
  onRequestCreated(request: JobberRequestRecord): void;
  /** Rolls the timeout-after-create fault. */
  shouldTimeoutAfterCreate(): boolean;
}

type View = Record<string, unknown>;
type Args = Record<string, unknown>;

/** ClientCreateInput and RequestCreateInput as graphql-js coerced them (the schema checked the shapes). */
interface ClientCreateInput {
  firstName?: string | null;
  lastName?: string | null;
  companyName?: string | null;
  isCompany?: boolean | null;
  title?: string | null;
  phones?: {
    number?: string | null;
    description?: string | null;
    primary?: boolean | null;
    smsAllowed?: boolean | null;
  }[];
  emails?: { address?: string | null; description?: string | null; primary?: boolean | null }[];
  properties?: { address?: Record<string, string | null | undefined> | null }[];
}

interface RequestCreateInput {
  clientId: string;
  propertyId?: string | null;
  customFormInput: { formId: string };
  title?: string | null;
  source?: string | null;
}

const MAX_TITLE = 255;
const MAX_PAGE = 100;

/**
 * Resolves a field from the view objects below: a function is called with the field's arguments; a
 * field the sandbox does not model is an error naming it (never a silent null).
 */
export const fieldResolver: GraphQLFieldResolver<View, JobberCallContext> = (source, args, context, info) => {
  const value = source[info.fieldName];
  if (typeof value === 'function') return (value as (a: Args, c: JobberCallContext) => unknown)(args, context);
  if (value === undefined) {
    throw new GraphQLError(`${info.parentType.name}.${info.fieldName} is not supported by the sandbox`);
  }
  return value;
};

const cursorOf = (index: number): string => Buffer.from(`cursor:${index}`).toString('base64');
function indexOf(cursor: unknown): number | null {
  if (typeof cursor !== 'string') return null;
  const m = /^cursor:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return m ? Number(m[1]) : null;
}

/** A Relay connection over a list: first/after, last/before; 100 nodes at most (providers.md 3.7). */
function connection<T>(items: T[], args: Args, view: (item: T) => View): View {
  let start = 0;
  let end = items.length;
  const after = indexOf(args.after);
  const before = indexOf(args.before);
  if (after !== null) start = Math.max(start, after + 1);
  if (before !== null) end = Math.min(end, before);
  for (const name of ['first', 'last'] as const) {
    const n = args[name];
    if (typeof n === 'number' && n < 0) throw new GraphQLError(`Argument '${name}' on Field must be non-negative`);
  }
  const first = typeof args.first === 'number' ? Math.min(args.first, MAX_PAGE) : null;
  const last = typeof args.last === 'number' ? Math.min(args.last, MAX_PAGE) : null;
  if (first !== null) end = Math.min(end, start + first);
  else if (last !== null) start = Math.max(start, end - last);
  else end = Math.min(end, start + MAX_PAGE);
  const slice = items.slice(start, Math.max(start, end));
  const nodes = slice.map(view);
  return {
    nodes,
    edges: nodes.map((node, i) => ({ cursor: cursorOf(start + i), node })),
    pageInfo: {
      startCursor: nodes.length ? cursorOf(start) : null,
      endCursor: nodes.length ? cursorOf(start + nodes.length - 1) : null,
      hasNextPage: start + nodes.length < items.length && (before === null || start + nodes.length < before),
      hasPreviousPage: start > 0,
    },
    totalCount: items.length,
  };
}

const webUri = (path: string, type: string, id: string): string =>
  `https://secure.getjobber.com/${path}/${decodeId(type, id) ?? 0}`;

/** Digits of a phone number without a US country code (+1 512… and 512… compare equal). */
function phoneDigits(value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
}

function clientMatches(c: JobberClientRecord, term: string): boolean {
  const needle = term.trim().toLowerCase();
  if (!needle) return true;
  const text = [`${c.firstName} ${c.lastName}`, c.companyName ?? '', ...c.emails.map((e) => e.address)];
  if (text.some((t) => t.toLowerCase().includes(needle))) return true;
  // Short digit runs (house numbers, zips) do not match phone numbers.
  const digits = phoneDigits(term);
  if (digits.length < 7 || /[a-z@]/i.test(term)) return false;
  return c.phones.some((p) => phoneDigits(p.number).includes(digits));
}

function inRange(value: string, range: unknown): boolean {
  if (!range || typeof range !== 'object') return true;
  const r = range as { before?: string; after?: string; eq?: string };
  const t = Date.parse(value);
  if (r.after && !(t > Date.parse(r.after))) return false;
  if (r.before && !(t < Date.parse(r.before))) return false;
  if (r.eq && t !== Date.parse(r.eq)) return false;
  return true;
}

const newestFirst = <T extends { updatedAt: string }>(items: T[]): T[] =>
  [...items].sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));

function userErrors(message: string, path: string[]): View[] {
  return [{ message, path }];
}

/** Builds the root value of one call: queries and mutations scoped to the authenticated account. */
export function rootValue(ctx: JobberCallContext): View {
  const { store, account } = ctx;
  const owned = <T extends { accountId: string }>(record: T | undefined): T | null =>
    record && record.accountId === account.id ? record : null;
  const clientById = (id: string) => owned(store.clients.get(id));
  const requestsOf = (clientId: string) => [...store.requests.values()].filter((r) => r.clientId === clientId);
  const jobsOf = (clientId: string) => [...store.jobs.values()].filter((j) => j.clientId === clientId);

  function propertyView(p: JobberPropertyRecord): View {
    const street = [p.street1, p.street2].filter(Boolean).join(' ');
    return {
      id: p.id,
      street,
      street1: p.street1,
      street2: p.street2,
      city: p.city,
      province: p.province,
      postalCode: p.postalCode,
      country: p.country,
      address: { ...p, street, coordinates: null, geoStatus: null },
      client: () => clientView(store.clients.get(p.clientId) as JobberClientRecord),
      isBillingAddress: false,
      jobberWebUri: webUri('properties', 'Property', p.id),
      customFields: [],
      latitude: '',
      longitude: '',
      routingOrder: null,
      taxRate: null,
    };
  }

  const propertyOf = (id: string | null) => {
    const p = id ? store.properties.get(id) : undefined;
    return p ? propertyView(p) : null;
  };

  function clientView(c: JobberClientRecord): View {
    const self = (): View => clientView(c);
    const properties = () => c.propertyIds.map((id) => store.properties.get(id) as JobberPropertyRecord);
    return {
      id: c.id,
      firstName: c.firstName,
      lastName: c.lastName,
      companyName: c.companyName,
      isCompany: c.isCompany,
      title: c.title,
      name: c.isCompany && c.companyName ? c.companyName : `${c.firstName} ${c.lastName}`.trim(),
      secondaryName: null,
      isLead: requestsOf(c.id).length > 0 && jobsOf(c.id).length === 0,
      isArchived: false,
      isArchivable: true,
      balance: 0,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      jobberWebUri: webUri('clients', 'Client', c.id),
      defaultEmails: c.emails.filter((e) => e.primary).map((e) => e.address),
      emails: c.emails.map((e) => ({ ...e, client: self })),
      phones: c.phones.map((p) => ({
        ...p,
        friendly: p.number,
        normalizedPhoneNumber: phoneDigits(p.number),
        client: self,
      })),
      billingAddress: null,
      properties: () => properties().map(propertyView),
      clientProperties: (args: Args) => connection(properties(), args, propertyView),
      requests: (args: Args) => connection(requestsOf(c.id), args, requestView),
      jobs: (args: Args) => connection(jobsOf(c.id), args, jobView),
    };
  }

  function requestView(r: JobberRequestRecord): View {
    const client = store.clients.get(r.clientId) as JobberClientRecord;
    return {
      id: r.id,
      title: r.title,
      requestStatus: r.requestStatus,
      source: r.source,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      jobberWebUri: webUri('requests', 'Request', r.id),
      companyName: client.companyName,
      contactName: `${client.firstName} ${client.lastName}`.trim(),
      email: client.emails[0]?.address ?? null,
      phone: client.phones[0]?.number ?? null,
      client: () => clientView(client),
      property: () => propertyOf(r.propertyId),
      jobs: (args: Args) =>
        connection(
          r.jobIds.map((id) => store.jobs.get(id) as JobberJobRecord),
          args,
          jobView,
        ),
      referringClient: null,
      assessment: null,
    };
  }

  function visitView(v: JobberVisitRecord): View {
    return {
      id: v.id,
      title: v.title,
      startAt: v.startAt,
      endAt: v.endAt,
      completedAt: v.completedAt,
      createdAt: v.createdAt,
      isComplete: v.completedAt !== null,
      allDay: false,
      visitStatus: () => v.visitStatus,
      job: () => jobView(store.jobs.get(v.jobId) as JobberJobRecord),
      client: () =>
        clientView(store.clients.get((store.jobs.get(v.jobId) as JobberJobRecord).clientId) as JobberClientRecord),
      property: () => propertyOf((store.jobs.get(v.jobId) as JobberJobRecord).propertyId),
      instructions: null,
      duration: v.startAt && v.endAt ? Math.round((Date.parse(v.endAt) - Date.parse(v.startAt)) / 60_000) : null,
    };
  }

  function jobView(j: JobberJobRecord): View {
    const request = j.requestId ? store.requests.get(j.requestId) : undefined;
    return {
      id: j.id,
      jobNumber: j.jobNumber,
      title: j.title,
      jobStatus: j.jobStatus,
      startAt: j.startAt,
      endAt: j.endAt,
      completedAt: j.completedAt,
      total: j.total,
      createdAt: j.createdAt,
      updatedAt: j.updatedAt,
      instructions: null,
      jobberWebUri: webUri('jobs', 'Job', j.id),
      client: () => clientView(store.clients.get(j.clientId) as JobberClientRecord),
      property: () => propertyOf(j.propertyId),
      request: () => (request ? requestView(request) : null),
      quote: null,
      visits: (args: Args) => {
        let visits = j.visitIds.map((id) => store.visits.get(id) as JobberVisitRecord);
        const filter = args.filter as { status?: string; completedAt?: unknown } | undefined;
        if (filter?.status) visits = visits.filter((v) => v.visitStatus === filter.status);
        return connection(visits, args, visitView);
      },
      invoices: (args: Args) => connection([], args, () => ({})),
    };
  }

  /** A userErrors switch from the control API wins over everything else. */
  const queuedUserError = (): View[] | null => {
    const message = account.pendingUserErrors.shift();
    return message === undefined ? null : userErrors(message, []);
  };

  return {
    account: () => ({ id: account.id, name: account.name, createdAt: isoNow() }),
    requestSettings: () => ({
      id: account.id,
      forms: (args: Args) =>
        connection([account.requestFormId], args, (id) => ({
          id,
          name: 'Request form',
          createdAt: isoNow(),
          updatedAt: isoNow(),
        })),
    }),
    clients: (args: Args) => {
      const filter = (args.filter ?? {}) as Record<string, unknown>;
      let clients = [...store.clients.values()].filter((c) => c.accountId === account.id);
      if (typeof args.searchTerm === 'string')
        clients = clients.filter((c) => clientMatches(c, args.searchTerm as string));
      if (typeof filter.isCompany === 'boolean') clients = clients.filter((c) => c.isCompany === filter.isCompany);
      if (filter.isArchived === true) clients = [];
      clients = clients.filter((c) => inRange(c.createdAt, filter.createdAt) && inRange(c.updatedAt, filter.updatedAt));
      return connection(newestFirst(clients), args, clientView);
    },
    client: ({ id }: Args) => {
      const c = clientById(id as string);
      return c ? clientView(c) : null;
    },
    request: ({ id }: Args) => {
      const r = owned(store.requests.get(id as string));
      return r ? requestView(r) : null;
    },
    requests: (args: Args) => {
      const filter = (args.filter ?? {}) as Record<string, unknown>;
      const requests = [...store.requests.values()].filter(
        (r) =>
          r.accountId === account.id &&
          (!filter.clientId || r.clientId === filter.clientId) &&
          (!filter.status || r.requestStatus === filter.status) &&
          inRange(r.createdAt, filter.createdAt) &&
          inRange(r.updatedAt, filter.updatedAt) &&
          (typeof args.searchTerm !== 'string' ||
            (r.title ?? '').toLowerCase().includes(args.searchTerm.toLowerCase())),
      );
      return connection(newestFirst(requests), args, requestView);
    },
    job: ({ id }: Args) => {
      const j = owned(store.jobs.get(id as string));
      return j ? jobView(j) : null;
    },
    visit: ({ id }: Args) => {
      const v = store.visits.get(id as string);
      return v && owned(store.jobs.get(v.jobId)) ? visitView(v) : null;
    },

    clientCreate: ({ input }: Args) => {
      const queued = queuedUserError();
      if (queued) return { client: null, userErrors: queued };
      const i = input as ClientCreateInput;
      const firstName = (i.firstName as string | undefined)?.trim() ?? '';
      const lastName = (i.lastName as string | undefined)?.trim() ?? '';
      const companyName = (i.companyName as string | undefined)?.trim() || null;
      if (!firstName && !lastName && !companyName) {
        return {
          client: null,
          userErrors: userErrors('Client must have a first name, last name or company name', ['firstName']),
        };
      }
      const now = isoNow();
      const client: JobberClientRecord = {
        id: store.nextId('Client'),
        accountId: account.id,
        firstName,
        lastName,
        companyName,
        isCompany: i.isCompany === true,
        title: (i.title as string | undefined) ?? null,
        phones: (i.phones ?? []).map((p, n) => ({
          id: store.nextId('ClientPhoneNumber'),
          number: String(p.number ?? ''),
          description: String(p.description ?? 'MAIN'),
          primary: p.primary ?? n === 0,
          smsAllowed: p.smsAllowed ?? false,
        })),
        emails: (i.emails ?? []).map((e, n) => ({
          id: store.nextId('Email'),
          address: String(e.address ?? ''),
          description: String(e.description ?? 'MAIN'),
          primary: e.primary ?? n === 0,
        })),
        propertyIds: [],
        createdAt: now,
        updatedAt: now,
      };
      for (const p of i.properties ?? []) {
        const a = p.address ?? {};
        const property: JobberPropertyRecord = {
          id: store.nextId('Property'),
          clientId: client.id,
          street1: a.street1 ?? '',
          street2: a.street2 ?? '',
          city: a.city ?? '',
          province: a.province ?? '',
          postalCode: a.postalCode ?? '',
          country: a.country ?? '',
        };
        store.properties.set(property.id, property);
        client.propertyIds.push(property.id);
      }
      store.clients.set(client.id, client);
      return { client: clientView(client), userErrors: [] };
    },

    requestCreate: ({ input }: Args) => {
      const queued = queuedUserError();
      if (queued) return { request: null, userErrors: queued };
      const i = input as RequestCreateInput;
      const client = clientById(i.clientId as string);
      if (!client) return { request: null, userErrors: userErrors('Client not found', ['clientId']) };
      let propertyId = client.propertyIds.at(-1) ?? null;
      if (i.propertyId !== undefined && i.propertyId !== null) {
        if (!client.propertyIds.includes(i.propertyId as string)) {
          return { request: null, userErrors: userErrors('Property not found for this client', ['propertyId']) };
        }
        propertyId = i.propertyId as string;
      }
      const formId = String((i.customFormInput as { formId: string }).formId);
      if (formId !== account.requestFormId) {
        return { request: null, userErrors: userErrors('Form not found', ['customFormInput', 'formId']) };
      }
      const title = (i.title as string | undefined | null) ?? null;
      if (title !== null && title.length > MAX_TITLE) {
        return {
          request: null,
          userErrors: userErrors(`Title is too long (maximum is ${MAX_TITLE} characters)`, ['title']),
        };
      }
      const now = isoNow();
      const request: JobberRequestRecord = {
        id: store.nextId('Request'),
        accountId: account.id,
        clientId: client.id,
        propertyId,
        title,
        requestStatus: 'new',
        source: (i.source as string | undefined) ?? 'EXTERNAL',
        formId,
        createdAt: now,
        updatedAt: now,
        jobIds: [],
      };
      store.requests.set(request.id, request);
      client.updatedAt = now;
      ctx.onRequestCreated(request);
      if (ctx.shouldTimeoutAfterCreate()) ctx.hold = true;
      return { request: requestView(request), userErrors: [] };
    },
  };
}
