import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Job creation filters the receiving companies in SQL (src/routing/routing-rules.ts receivingCompaniesSql): by
 * trade and by ZIP, with `= '{}'` (takes every trade / serves every ZIP) or `@>` (takes this one). Both are
 * operators of the GIN array index, so a network of 10,000 companies costs what one of 10 does.
 */
export class CompanyRoutingIndexes1766000000001 implements MigrationInterface {
  name = 'CompanyRoutingIndexes1766000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX companies_trades_idx ON companies USING gin (trades)`);
    await q.query(`CREATE INDEX companies_service_area_zips_idx ON companies USING gin (service_area_zips)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX companies_service_area_zips_idx`);
    await q.query(`DROP INDEX companies_trades_idx`);
  }
}
