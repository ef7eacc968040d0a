import { recordResponse } from '../contract/contract-recorder';
import { ApiClient } from '../helpers/http';

let counter = 0;
const next = () => ++counter;

export function serviceTitanCredentials(overrides: Record<string, string> = {}) {
  const n = next();
  return {
    tenantId: String(1000 + n),
    clientId: `cid.test${n}`,
    clientSecret: `cs.secret-${n}-do-not-log`,
    bookingProviderId: String(50 + n),
    ...overrides,
  };
}

export function housecallProCredentials() {
  return { apiKey: `hcp_test_key_${next()}_do_not_log` };
}

export async function createCompany(admin: ApiClient, overrides: Record<string, unknown> = {}) {
  const res = await admin.post('/api/companies', {
    name: `Company ${next()}`,
    // A trade by default, so the routing rules of one test do not pick up every other test's companies.
    trades: ['electrical'],
    provider: { type: 'servicetitan', credentials: serviceTitanCredentials() },
    ...overrides,
  });
  if (res.status !== 201) throw new Error(`createCompany failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; name: string };
}

export async function createTechnician(admin: ApiClient, companyId: string, overrides: Record<string, unknown> = {}) {
  const res = await admin.post(`/api/companies/${companyId}/technicians`, {
    firstName: 'Pat',
    lastName: 'Plumber',
    ...overrides,
  });
  if (res.status !== 201) throw new Error(`createTechnician failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

export function jobBody(companyId: string, technicianId: string, overrides: Record<string, unknown> = {}) {
  return {
    companyId,
    technicianId,
    homeowner: { firstName: 'Jane', lastName: 'Doe', phone: '(512) 555-0147', email: 'Jane.Doe@Example.com' },
    address: { street: '500 Congress Ave', city: 'Austin', state: 'tx', zip: '78701' },
    summary: 'Breaker trips when the dryer runs',
    trade: 'electrical',
    ...overrides,
  };
}

/** A referring company with a technician, plus `receivers` companies that will receive its referrals. */
export async function createNetwork(admin: ApiClient, receivers = 2, receiverOverrides: Record<string, unknown> = {}) {
  const referrer = await createCompany(admin, {
    name: `Referrer ${next()}`,
    provider: undefined,
    trades: ['plumbing'],
  });
  const technician = await createTechnician(admin, referrer.id);
  const targets = [];
  for (let i = 0; i < receivers; i++) targets.push(await createCompany(admin, receiverOverrides));
  return { referrer, technician, targets };
}

/**
 * Connects a company to a new Jobber account through the OAuth flow, as a browser would: authorize URL, the
 * sandbox's approval redirect, then the service's callback. Returns the callback's response and the account id.
 */
export async function connectJobber(admin: ApiClient, serviceUrl: string, companyId: string) {
  const authorize = await admin.post(`/api/companies/${companyId}/connections/jobber/authorize`);
  if (authorize.status !== 200)
    throw new Error(`authorize failed: ${authorize.status} ${JSON.stringify(authorize.body)}`);
  const approval = await fetch(authorize.body.authorizeUrl as string, { redirect: 'manual' });
  const location = new URL(approval.headers.get('location') ?? '');
  // The service's public URL in tests is localhost:0; the browser hop goes to where the app really listens.
  const path = `${location.pathname}${location.search}`;
  const callback = await fetch(`${serviceUrl}${path}`);
  const body = await callback.text();
  recordResponse(serviceUrl, { method: 'GET', path, status: callback.status, headers: callback.headers, body });
  return { status: callback.status, body, location };
}
