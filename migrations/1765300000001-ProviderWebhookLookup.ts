import { MigrationInterface, QueryRunner } from 'typeorm';

/** Inbound provider webhooks (SPEC section 10) name the provider's record: find its routing by externalId. */
export class ProviderWebhookLookup1765300000001 implements MigrationInterface {
  name = 'ProviderWebhookLookup1765300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX routings_external_idx ON routings (external_id) WHERE external_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX routings_external_idx`);
  }
}
