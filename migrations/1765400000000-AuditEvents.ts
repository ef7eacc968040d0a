import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail (SPEC section 14): one row per change, written in the transaction of the change. Append-only: a
 * trigger refuses every UPDATE; rows leave only through the retention purge (DELETE by age). No foreign keys: an
 * event outlives what it names (archived jobs, revoked keys), and its actor may be the bootstrap admin key, whose id
 * is not a UUID.
 */
export class AuditEvents1765400000000 implements MigrationInterface {
  name = 'AuditEvents1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        actor_role text NOT NULL CHECK (actor_role IN ('admin', 'company', 'system')),
        actor_key_id text,
        actor_company_id uuid,
        request_id text,
        changes jsonb NOT NULL DEFAULT '{}'
      )`);
    // Newest first for every filter of GET /api/audit-events; the first one also serves from/to and the purge.
    await q.query(`CREATE INDEX audit_events_created_idx ON audit_events (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_events_action_idx ON audit_events (action, created_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX audit_events_resource_type_idx ON audit_events (resource_type, created_at DESC, id DESC)`,
    );
    await q.query(`CREATE INDEX audit_events_resource_idx ON audit_events (resource_id, created_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX audit_events_actor_idx ON audit_events (actor_key_id, created_at DESC, id DESC)
        WHERE actor_key_id IS NOT NULL`,
    );
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
  }
}
