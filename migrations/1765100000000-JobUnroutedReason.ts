import { MigrationInterface, QueryRunner } from 'typeorm';

/** Why a job reached no company (src/routing/routing-rules.ts UNROUTED_REASONS); null for routed jobs. */
export class JobUnroutedReason1765100000000 implements MigrationInterface {
  name = 'JobUnroutedReason1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE jobs ADD COLUMN unrouted_reason text CHECK (unrouted_reason IN
        ('no_targets', 'no_receiving_company', 'no_company_for_trade', 'no_company_serving_zip'))`);
    // The archive mirrors the live table (cleanup copies rows by column name).
    await q.query(`ALTER TABLE archived_jobs ADD COLUMN unrouted_reason text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE archived_jobs DROP COLUMN unrouted_reason`);
    await q.query(`ALTER TABLE jobs DROP COLUMN unrouted_reason`);
  }
}
