import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider connections (SPEC section 9). Each company's credentials move, still encrypted, into one active
 * connection; routings that reached a provider are bound to the connection they were synced through. Provider
 * names leave the schema: they come from the provider catalog in code.
 *
 * Routings synced to a provider the company has since left (its credentials were overwritten before connections
 * existed) cannot be polled any more: they get an `invalid` connection naming that, and end `permanently_failed`.
 */
export class Connections1764900000000 implements MigrationInterface {
  name = 'Connections1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        provider_type text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'disabled', 'invalid')),
        status_reason text,
        credentials text NOT NULL,
        webhook_token text,
        external_account_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX connections_one_active_idx ON connections (company_id) WHERE status = 'active'`);
    await q.query(`CREATE INDEX connections_company_created_idx ON connections (company_id, created_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX connections_account_idx ON connections (provider_type, external_account_id)
        WHERE external_account_id IS NOT NULL`,
    );

    await q.query(`
      INSERT INTO connections (company_id, provider_type, status, credentials, created_at, updated_at)
      SELECT id, provider_type, 'active', provider_credentials, updated_at, now()
        FROM companies WHERE provider_type IS NOT NULL AND provider_credentials IS NOT NULL`);

    await q.query(`ALTER TABLE routings ADD COLUMN connection_id uuid REFERENCES connections(id)`);
    await q.query(`ALTER TABLE routings ADD COLUMN create_sent boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE archived_routings ADD COLUMN connection_id uuid`);
    await q.query(`ALTER TABLE archived_routings ADD COLUMN create_sent boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE routings DROP CONSTRAINT IF EXISTS routings_provider_type_check`);

    // Every routing that has been attempted may have reached its provider: it keeps the lookup before a create.
    await q.query(`UPDATE routings SET create_sent = true WHERE status <> 'pending' OR attempts > 0`);
    await q.query(`
      UPDATE routings r SET connection_id = c.id
        FROM connections c
       WHERE c.company_id = r.company_id AND c.provider_type = r.provider_type AND r.create_sent`);

    // Attempted routings whose provider is no longer the company's: an invalid connection of their own.
    await q.query(`
      INSERT INTO connections (company_id, provider_type, status, status_reason, credentials)
      SELECT DISTINCT company_id, provider_type, 'invalid',
             'credentials for ' || provider_type || ' were replaced before connections existed', ''
        FROM routings WHERE connection_id IS NULL AND create_sent`);
    await q.query(`
      UPDATE routings r SET connection_id = c.id
        FROM connections c
       WHERE c.company_id = r.company_id AND c.provider_type = r.provider_type AND c.status = 'invalid'
         AND r.connection_id IS NULL AND r.create_sent`);
    const [stranded] = (await q.query(`
      UPDATE routings r
         SET status = 'permanently_failed', next_retry_at = NULL, claim_token = NULL, status_changed_at = now(),
             updated_at = now(), last_error = 'connection ' || c.id || ' is invalid: ' || c.status_reason
        FROM connections c
       WHERE c.id = r.connection_id AND c.status = 'invalid' AND r.status IN ('syncing', 'synced', 'failed')
      RETURNING r.id, r.job_id, r.last_error`)) as [{ id: string; job_id: string; last_error: string }[], number];
    if (stranded.length) {
      await q.query(
        `INSERT INTO routing_events (routing_id, type, outcome, message)
         SELECT unnest($1::uuid[]), 'status_change', 'permanently_failed', unnest($2::text[])`,
        [stranded.map((r) => r.id), stranded.map((r) => r.last_error)],
      );
      await q.query(
        `UPDATE jobs j
            SET status = CASE WHEN a.completed THEN 'completed' WHEN a.all_failed THEN 'canceled' ELSE 'open' END,
                finished_at = CASE WHEN a.completed OR a.all_failed THEN COALESCE(j.finished_at, now()) END,
                updated_at = now()
           FROM (SELECT job_id, bool_or(status = 'completed') AS completed,
                        bool_and(status IN ('canceled', 'permanently_failed')) AS all_failed
                   FROM routings WHERE job_id = ANY($1::uuid[]) GROUP BY job_id) a
          WHERE j.id = a.job_id`,
        [[...new Set(stranded.map((r) => r.job_id))]],
      );
    }

    await q.query(`DROP INDEX routings_synced_poll_idx`);
    await q.query(
      `CREATE INDEX routings_synced_poll_idx ON routings (connection_id, last_polled_at NULLS FIRST) WHERE status = 'synced'`,
    );
    await q.query(`CREATE INDEX routings_connection_idx ON routings (connection_id) WHERE connection_id IS NOT NULL`);
    await q.query(`ALTER TABLE companies DROP COLUMN provider_type, DROP COLUMN provider_credentials`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE companies ADD COLUMN provider_type text, ADD COLUMN provider_credentials text`);
    await q.query(`
      UPDATE companies co SET provider_type = c.provider_type, provider_credentials = c.credentials
        FROM connections c WHERE c.company_id = co.id AND c.status = 'active'`);
    await q.query(`DROP INDEX routings_connection_idx`);
    await q.query(`DROP INDEX routings_synced_poll_idx`);
    await q.query(
      `CREATE INDEX routings_synced_poll_idx ON routings (company_id, last_polled_at NULLS FIRST) WHERE status = 'synced'`,
    );
    await q.query(`ALTER TABLE archived_routings DROP COLUMN connection_id, DROP COLUMN create_sent`);
    await q.query(`ALTER TABLE routings DROP COLUMN connection_id, DROP COLUMN create_sent`);
    await q.query(`DROP TABLE connections`);
  }
}
