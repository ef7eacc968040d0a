import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound webhooks (SPEC section 11): endpoints, the outbox of events, one delivery per (event, endpoint) with its
 * retry state, and the log of every attempt. Events and deliveries are written in the transaction of the routing
 * or job change that causes them; they reference no live row, so archiving a job never touches them.
 */
export class Webhooks1765300000000 implements MigrationInterface {
  name = 'Webhooks1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid REFERENCES companies(id),
        url text NOT NULL,
        events text[] NOT NULL DEFAULT '{}',
        description text,
        status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
        status_reason text,
        secret text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_created_idx ON webhook_endpoints (created_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX webhook_endpoints_company_idx ON webhook_endpoints (company_id, created_at DESC, id DESC)`,
    );

    await q.query(`
      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        company_id uuid NOT NULL,
        routing_id uuid,
        job_id uuid NOT NULL,
        body text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_events_created_idx ON webhook_events (created_at)`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
        attempts int NOT NULL DEFAULT 0,
        failures int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (event_id, endpoint_id)
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_endpoint_pending_idx ON webhook_deliveries (endpoint_id) WHERE status = 'pending'`,
    );

    await q.query(`
      CREATE TABLE webhook_delivery_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        endpoint_id uuid NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        attempt int NOT NULL,
        outcome text NOT NULL,
        http_status int,
        duration_ms int,
        error text,
        next_attempt_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX webhook_delivery_attempts_endpoint_idx
         ON webhook_delivery_attempts (endpoint_id, created_at DESC, id DESC)`,
    );
    await q.query(`CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_delivery_attempts`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP TABLE webhook_endpoints`);
  }
}
