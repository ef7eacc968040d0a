import { randomBytes } from 'node:crypto';

import { DataSource } from 'typeorm';

import { InitialSchema1764300000000 } from '../../migrations/1764300000000-InitialSchema';
import { AppConfig } from '../../src/config/app-config';
import { CredentialsCipher } from '../../src/connections/credentials-cipher';
import { dataSourceOptions } from '../../src/database/data-source';
import { ensureDatabase } from '../../src/database/ensure-database';
import { dropDatabase } from '../helpers/database';
import { TEST_DATABASE_URL } from '../test-env';

const DATABASE_URL = TEST_DATABASE_URL.replace(/\/([^/?]+)(\?|$)/, '/$1_migration$2');

describe('Migration Connections1764900000000 - company credentials move into connections', () => {
  const cipher = new CredentialsCipher({ credentialsKey: randomBytes(32) } as AppConfig);
  let db: DataSource;

  const st = { tenantId: '4001', clientId: 'cid.a', clientSecret: 'cs.a-secret', bookingProviderId: '7' };
  const hcp = { apiKey: 'hcp_b_key' };

  async function seedAtInitialSchema(): Promise<Record<string, string>> {
    const one = async (sql: string, params: unknown[] = []) =>
      ((await db.query(sql, params)) as { id: string }[])[0].id;
    const company = (name: string, type: string | null, credentials: object | null) =>
      one(`INSERT INTO companies (name, provider_type, provider_credentials) VALUES ($1, $2, $3) RETURNING id`, [
        name,
        type,
        credentials && cipher.encrypt(credentials),
      ]);
    const ids: Record<string, string> = {
      referrer: await company('Referrer', null, null),
      a: await company('A on ServiceTitan', 'servicetitan', st),
      b: await company('B on Housecall Pro', 'housecallpro', hcp),
      // D moved from ServiceTitan to Housecall Pro before connections existed.
      d: await company('D switched', 'housecallpro', { apiKey: 'hcp_d_key' }),
    };
    const technician = await one(
      `INSERT INTO technicians (company_id, first_name, last_name) VALUES ($1, 'T', 'T') RETURNING id`,
      [ids.referrer],
    );
    const job = (status: string) =>
      one(
        `INSERT INTO jobs (status, company_id, technician_id, homeowner, address, summary)
         VALUES ($1, $2, $3, '{}', '{}', 'seed') RETURNING id`,
        [status, ids.referrer, technician],
      );
    ids.job1 = await job('open');
    ids.job2 = await job('open');
    const routing = (
      jobId: string,
      companyId: string,
      type: string,
      status: string,
      attempts: number,
      externalId?: string,
    ) =>
      one(
        `INSERT INTO routings (job_id, company_id, provider_type, status, attempts, external_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [jobId, companyId, type, status, attempts, externalId ?? null],
      );
    ids.aSynced = await routing(ids.job1, ids.a, 'servicetitan', 'synced', 1, '9001');
    ids.aPending = await routing(ids.job2, ids.a, 'servicetitan', 'pending', 0);
    ids.bSynced = await routing(ids.job1, ids.b, 'housecallpro', 'synced', 1, 'job_b');
    ids.bFailed = await routing(ids.job2, ids.b, 'housecallpro', 'failed', 2);
    ids.dStranded = await routing(ids.job1, ids.d, 'servicetitan', 'synced', 1, '9002');
    return ids;
  }

  beforeAll(async () => {
    await dropDatabase(DATABASE_URL);
    await ensureDatabase(DATABASE_URL);
    db = new DataSource({ ...dataSourceOptions(DATABASE_URL, 2), migrations: [InitialSchema1764300000000] });
    await db.initialize();
    await db.runMigrations();
  });
  afterAll(async () => {
    await db.destroy();
    await dropDatabase(DATABASE_URL);
  });

  it('keeps every routing and credential, binds attempted routings, and fails the ones whose credentials are gone', async () => {
    const ids = await seedAtInitialSchema();
    const routingsBefore = await db.query(`SELECT count(*)::int AS n FROM routings`);
    await db.destroy();
    db = new DataSource(dataSourceOptions(DATABASE_URL, 2));
    await db.initialize();
    expect((await db.runMigrations()).map((m) => m.name)).toContain('Connections1764900000000');

    const connections: {
      id: string;
      company_id: string;
      provider_type: string;
      status: string;
      status_reason: string | null;
      credentials: string;
    }[] = await db.query(`SELECT * FROM connections ORDER BY created_at`);
    const of = (companyId: string, status: string) =>
      connections.find((c) => c.company_id === companyId && c.status === status)!;
    expect(connections.filter((c) => c.company_id === ids.referrer)).toEqual([]);
    expect(cipher.decrypt(of(ids.a, 'active').credentials)).toEqual(st);
    expect(cipher.decrypt(of(ids.b, 'active').credentials)).toEqual(hcp);
    expect(cipher.decrypt(of(ids.d, 'active').credentials)).toEqual({ apiKey: 'hcp_d_key' });
    const stranded = of(ids.d, 'invalid');
    expect(stranded).toMatchObject({
      provider_type: 'servicetitan',
      status_reason: 'credentials for servicetitan were replaced before connections existed',
    });

    expect(await db.query(`SELECT count(*)::int AS n FROM routings`)).toEqual(routingsBefore);
    const routings: Record<
      string,
      { status: string; connection_id: string | null; create_sent: boolean; last_error: string | null }
    > = Object.fromEntries(
      (await db.query(`SELECT id, status, connection_id, create_sent, last_error FROM routings`)).map(
        (r: { id: string }) => [r.id, r],
      ),
    );
    expect(routings[ids.aSynced]).toMatchObject({
      status: 'synced',
      connection_id: of(ids.a, 'active').id,
      create_sent: true,
    });
    expect(routings[ids.aPending]).toMatchObject({ status: 'pending', connection_id: null, create_sent: false });
    expect(routings[ids.bSynced]).toMatchObject({ status: 'synced', connection_id: of(ids.b, 'active').id });
    expect(routings[ids.bFailed]).toMatchObject({
      status: 'failed',
      connection_id: of(ids.b, 'active').id,
      create_sent: true,
    });
    expect(routings[ids.dStranded]).toMatchObject({
      status: 'permanently_failed',
      connection_id: stranded.id,
      last_error: `connection ${stranded.id} is invalid: credentials for servicetitan were replaced before connections existed`,
    });
    const [event] = await db.query(`SELECT type, outcome FROM routing_events WHERE routing_id = $1`, [ids.dStranded]);
    expect(event).toEqual({ type: 'status_change', outcome: 'permanently_failed' });
    const columns = (await db.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'companies'`,
    )) as { column_name: string }[];
    expect(columns.map((c) => c.column_name)).not.toContain('provider_credentials');

    // And back: undone to the initial schema, each company's active credentials are where they were.
    const last = async () =>
      ((await db.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`)) as { name: string }[])[0].name;
    while ((await last()) !== 'InitialSchema1764300000000') await db.undoLastMigration();
    const [a] = await db.query(`SELECT provider_type, provider_credentials FROM companies WHERE id = $1`, [ids.a]);
    expect(a.provider_type).toBe('servicetitan');
    expect(cipher.decrypt(a.provider_credentials)).toEqual(st);
  });
});
