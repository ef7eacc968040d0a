import { randomUUID } from 'node:crypto';

import { Client } from 'pg';

import { CandidateCompany, chooseTargets, receivingCompaniesSql } from '../../src/routing/routing-rules';
import { TEST_DATABASE_URL } from '../test-env';

/**
 * The routing rules in SQL (receivingCompaniesSql, what job creation runs) choose exactly what chooseTargets
 * chooses, on many small networks: trade and ZIP matches (every trade / every ZIP when empty, ZIP+4 requests),
 * inactive companies, companies with no connection or only a disabled one, the referrer excluded, and each
 * unrouted reason. Each network lives in temporary tables that shadow the real ones inside one rolled-back
 * transaction, so the other suites' companies do not count.
 */
describe('routing rules in SQL (receivingCompaniesSql) agree with chooseTargets', () => {
  let db: Client;

  beforeAll(async () => {
    db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
  });

  // A small deterministic PRNG, so a failure can be replayed.
  function prng(seed: number): () => number {
    let s = seed;
    return () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
  }
  const pick = <T>(random: () => number, values: T[]): T[] => values.filter(() => random() < 0.4);

  it('on 60 random networks × 12 requests each', async () => {
    const random = prng(13);
    const trades = ['electrical', 'plumbing', 'hvac'];
    const zips = ['11111', '22222', '33333'];
    let compared = 0;
    let routed = 0;
    const reasons = new Set<string | null>();
    await db.query('BEGIN');
    try {
      // pg_temp comes first in the search path: the query's unqualified `companies` and `connections` are these.
      await db.query('CREATE TEMP TABLE companies (LIKE public.companies INCLUDING ALL)');
      await db.query('CREATE TEMP TABLE connections (LIKE public.connections INCLUDING ALL)');
      for (let network = 0; network < 60; network++) {
        await db.query('TRUNCATE companies, connections');
        const size = 1 + Math.floor(random() * 6);
        const companies: (CandidateCompany & { connection: 'none' | 'active' | 'disabled' | 'both' })[] = [];
        for (let i = 0; i < size; i++) {
          const connection = (['none', 'active', 'disabled', 'both'] as const)[Math.floor(random() * 4)];
          const company = {
            id: randomUUID(),
            isActive: random() < 0.8,
            trades: pick(random, trades),
            serviceAreaZips: pick(random, zips),
            providerType: connection === 'active' || connection === 'both' ? ('servicetitan' as const) : null,
            connection,
          };
          companies.push(company);
          await db.query(
            `INSERT INTO companies (id, name, is_active, trades, service_area_zips) VALUES ($1, 'c', $2, $3, $4)`,
            [company.id, company.isActive, company.trades, company.serviceAreaZips],
          );
          for (const status of { none: [], active: ['active'], disabled: ['disabled'], both: ['disabled', 'active'] }[
            connection
          ]) {
            await db.query(
              `INSERT INTO connections (company_id, provider_type, status, credentials)
               VALUES ($1, 'servicetitan', $2, 'x')`,
              [company.id, status],
            );
          }
        }
        for (let request = 0; request < 12; request++) {
          const referrer = companies[Math.floor(random() * companies.length)].id;
          const trade = random() < 0.2 ? null : [...trades, 'roofing'][Math.floor(random() * 4)];
          const zip = [...zips, '44444'][Math.floor(random() * 4)] + (random() < 0.3 ? '-1234' : '');
          const expected = chooseTargets({ referringCompanyId: referrer, trade, zip }, companies);
          if (!expected.ok) throw new Error('chooseTargets refused a request without targets');

          const params: unknown[] = [referrer];
          const sql = receivingCompaniesSql(params, { referrer: '$1::uuid', trade, zip });
          const { rows } = await db.query<{ id: string; provider_type: string }>(sql.receivers, params);
          const { rows: unrouted } = await db.query<{ reason: string }>(
            `SELECT ${sql.unroutedReason} AS reason WHERE NOT EXISTS (${sql.receivers})`,
            params,
          );
          const reason = unrouted[0]?.reason ?? null;
          const context = { network, companies, referrer, trade, zip };
          expect({ ...context, targets: rows.map((r) => `${r.id} ${r.provider_type}`).sort() }).toEqual({
            ...context,
            targets: expected.targets.map((c) => `${c.id} ${c.providerType}`).sort(),
          });
          expect({ ...context, reason }).toEqual({ ...context, reason: expected.unroutedReason });
          compared++;
          if (rows.length) routed++;
          reasons.add(expected.unroutedReason);
        }
      }
    } finally {
      await db.query('ROLLBACK');
    }
    // The random networks reached every branch.
    expect(compared).toBe(720);
    expect(routed).toBeGreaterThan(50);
    expect([...reasons].sort()).toEqual(
      [null, 'no_company_for_trade', 'no_company_serving_zip', 'no_receiving_company'].sort(),
    );
  });

  it('uses the GIN indexes (trade, ZIP) rather than reading a large network whole', async () => {
    await db.query('BEGIN');
    try {
      await db.query('CREATE TEMP TABLE companies (LIKE public.companies INCLUDING ALL)');
      await db.query('CREATE TEMP TABLE connections (LIKE public.connections INCLUDING ALL)');
      await db.query(
        `INSERT INTO companies (name, trades, service_area_zips)
         SELECT 'c' || i, ARRAY[(ARRAY['plumbing', 'hvac', 'roofing'])[1 + i % 3]], ARRAY[lpad((i % 90000)::text, 5, '0')]
           FROM generate_series(1, 20000) i`,
      );
      await db.query(
        `INSERT INTO connections (company_id, provider_type, status, credentials)
         SELECT id, 'servicetitan', 'active', 'x' FROM companies`,
      );
      await db.query('ANALYZE companies; ANALYZE connections');
      const params: unknown[] = [randomUUID()];
      const sql = receivingCompaniesSql(params, { referrer: '$1::uuid', trade: 'electrical', zip: '78701' });
      const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.receivers}`, params);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Bitmap Index Scan on companies_\w+_idx/);
      expect(plan).not.toMatch(/Seq Scan on companies/);
    } finally {
      await db.query('ROLLBACK');
    }
  });
});
