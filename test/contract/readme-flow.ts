import { setTimeout as sleep } from 'node:timers/promises';

import createClient from 'openapi-fetch';

import type { components, paths } from './generated/api';

// The README's API walk-through, written as an integrator would: types generated from /api/docs-json with
// openapi-typescript (test/contract/client-types.ts), requests sent with openapi-fetch. `npm run typecheck`
// compiles it with strict tsc; test/e2e/readme-flow.e2e-spec.ts runs it against a started app.
//   npx ts-node -T test/contract/readme-flow.ts http://localhost:3000 te_dev_admin_key_change_me

type Schemas = components['schemas'];
type Problem = Schemas['Problem'];

export interface ReadmeFlowResult {
  plumber: Schemas['CompanyResponse'];
  electrician: Schemas['CompanyResponse'];
  technician: Schemas['TechnicianResponse'];
  job: Schemas['JobResponse'];
  replayed: boolean;
  openJobs: Schemas['JobResponse'][];
  synced: Schemas['RoutingWithEventsResponse'];
  retryOfSynced: Problem;
  companyKey: Schemas['CreatedApiKeyResponse'];
  ownCompany: Schemas['CompanyResponse'];
  ownTechnicians: Schemas['TechnicianResponse'][];
  otherCompany: Problem;
  typo: Problem;
}

/** The data of a successful response; a problem document is thrown with its status, title and field errors. */
function ok<T>(result: { data?: T; error?: Problem; response: Response }): T {
  if (result.data === undefined) {
    const problem = result.error;
    throw new Error(
      `${result.response.status} ${problem?.title}: ${problem?.detail} ${JSON.stringify(problem?.errors)}`,
    );
  }
  return result.data;
}

/** The problem document of a response that must fail. */
function problem(result: { data?: unknown; error?: Problem; response: Response }): Problem {
  if (!result.error) throw new Error(`expected a problem, got ${result.response.status}`);
  return result.error;
}

export async function readmeFlow(
  baseUrl: string,
  adminKey: string,
  options: { fetch?: (request: Request) => Promise<Response> } = {},
): Promise<ReadmeFlowResult> {
  const api = createClient<paths>({ baseUrl, fetch: options.fetch, headers: { Authorization: `Bearer ${adminKey}` } });

  // A referring plumber with a technician, and an electrician on ServiceTitan
  const plumber = ok(await api.POST('/api/companies', { body: { name: 'Acme Plumbing', trades: ['plumbing'] } }));
  const technician = ok(
    await api.POST('/api/companies/{id}/technicians', {
      params: { path: { id: plumber.id } },
      body: { firstName: 'Pat', lastName: 'Pipes', phone: '512-555-0100' },
    }),
  );
  const electrician = ok(
    await api.POST('/api/companies', {
      body: {
        name: 'Sparky Electric',
        trades: ['electrical'],
        serviceAreaZips: ['78701'],
        provider: {
          type: 'servicetitan',
          credentials: { tenantId: '1001', clientId: 'cid.demo', clientSecret: 'secret', bookingProviderId: '7' },
        },
      },
    }),
  );

  // The referral: routed by trade and ZIP, answered 201 with its routings
  const referral: Schemas['CreateJobDto'] = {
    companyId: plumber.id,
    technicianId: technician.id,
    homeowner: { firstName: 'Jane', lastName: 'Doe', phone: '(512) 555-0147' },
    address: { street: '500 Congress Ave', city: 'Austin', state: 'TX', zip: '78701' },
    summary: 'Breaker trips when the dryer runs',
    trade: 'electrical',
  };
  const idempotencyKey = `ref-${plumber.id}`;
  const job = ok(
    await api.POST('/api/jobs', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body: referral }),
  );
  const again = await api.POST('/api/jobs', {
    params: { header: { 'Idempotency-Key': idempotencyKey } },
    body: referral,
  });
  const replayed = ok(again).id === job.id && again.response.headers.get('Idempotent-Replayed') === 'true';

  const openJobs = ok(await api.GET('/api/jobs', { params: { query: { status: 'open', limit: 10 } } })).items;
  const routing = job.routings.find((r) => r.companyId === electrician.id);
  if (!routing) throw new Error('the referral was not routed to Sparky Electric');

  // With its event timeline, once the worker has synced it to ServiceTitan
  let synced = ok(await api.GET('/api/routings/{id}', { params: { path: { id: routing.id } } }));
  for (let i = 0; i < 200 && synced.status !== 'synced'; i++) {
    await sleep(100);
    synced = ok(await api.GET('/api/routings/{id}', { params: { path: { id: routing.id } } }));
  }
  ok(await api.GET('/api/routings', { params: { query: { status: 'synced' } } }));
  // Only failed routings can be retried: a synced one is a 409 problem.
  const retryOfSynced = problem(await api.POST('/api/routings/{id}/retry', { params: { path: { id: routing.id } } }));

  // A key for one company (role company): its own company, technicians and jobs
  const companyKey = ok(
    await api.POST('/api/api-keys', { body: { name: 'acme app', role: 'company', companyId: plumber.id } }),
  );
  const acme = createClient<paths>({
    baseUrl,
    fetch: options.fetch,
    headers: { Authorization: `Bearer ${companyKey.key}` },
  });
  const ownCompany = ok(await acme.GET('/api/companies/{id}', { params: { path: { id: plumber.id } } }));
  const ownTechnicians = ok(
    await acme.GET('/api/companies/{id}/technicians', { params: { path: { id: plumber.id } } }),
  ).items;
  const otherCompany = problem(await acme.GET('/api/companies/{id}', { params: { path: { id: electrician.id } } }));
  ok(await acme.POST('/api/jobs', { body: { ...referral, technicianId: ownTechnicians[0].id } }));

  // A typo in the trade: a 400 naming the field and the accepted trades
  const typo = problem(
    await acme.POST('/api/jobs', {
      // @ts-expect-error -- the generated type already refuses a trade outside the taxonomy
      body: { ...referral, trade: 'electrcal' },
    }),
  );

  return {
    plumber,
    electrician,
    technician,
    job,
    replayed,
    openJobs,
    synced,
    retryOfSynced,
    companyKey,
    ownCompany,
    ownTechnicians,
    otherCompany,
    typo,
  };
}

if (require.main === module) {
  const [baseUrl = 'http://localhost:3000', key = 'te_dev_admin_key_change_me'] = process.argv.slice(2);
  readmeFlow(baseUrl, key).then(
    (result) => console.log(JSON.stringify({ job: result.job.id, routing: result.synced.status }, null, 2)),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
