import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Polling reads only what changed at providers with a change feed (Housecall Pro): where the last poll of a
 * connection stopped, as `{ position, takenAt }` (the provider's opaque cursor, and when that poll started by our
 * clock). NULL until the first poll; a NULL or lost cursor means reads by id. And the rescue sweep's index covers
 * the routing id, so finding stuck routings is an index-only scan.
 */
export class PollCursor1766000000003 implements MigrationInterface {
  name = 'PollCursor1766000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE connections ADD COLUMN poll_cursor jsonb`);
    // The rescue sweep finds stuck routings from the index alone (routing-lifecycle.ts rescueStuck).
    await q.query(
      `CREATE INDEX routings_syncing_stale_idx ON routings (status_changed_at) INCLUDE (id) WHERE status = 'syncing'`,
    );
    await q.query(`DROP INDEX routings_syncing_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX routings_syncing_idx ON routings (status_changed_at) WHERE status = 'syncing'`);
    await q.query(`DROP INDEX routings_syncing_stale_idx`);
    await q.query(`ALTER TABLE connections DROP COLUMN poll_cursor`);
  }
}
