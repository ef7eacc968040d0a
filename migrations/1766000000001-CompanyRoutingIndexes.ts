import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Job creation filters the receiving companies in SQL (src/routing/routing-rules.ts receivingCompaniesSql) by
 * trade and by ZIP, each as one overlap (`&&`) with an indexed set in which an empty list ("every trade", "every
 * ZIP") is `{*}`: TRADES_SET and ZIPS_SET there, which these expressions must match exactly. A network of 10,000
 * companies then costs what one of 10 does.
 */
export class CompanyRoutingIndexes1766000000001 implements MigrationInterface {
  name = 'CompanyRoutingIndexes1766000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX companies_trades_set_idx ON companies
         USING gin ((CASE WHEN trades = '{}' THEN '{*}'::text[] ELSE trades END))`,
    );
    await q.query(
      `CREATE INDEX companies_zips_set_idx ON companies
         USING gin ((CASE WHEN service_area_zips = '{}' THEN '{*}'::text[] ELSE service_area_zips END))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX companies_zips_set_idx`);
    await q.query(`DROP INDEX companies_trades_set_idx`);
  }
}
