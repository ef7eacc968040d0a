import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE companies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        is_active boolean NOT NULL DEFAULT true,
        trades text[] NOT NULL DEFAULT '{}',
        service_area_zips text[] NOT NULL DEFAULT '{}',
        provider_type text CHECK (provider_type IN ('servicetitan', 'housecallpro')),
        provider_credentials text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX companies_created_idx ON companies (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE technicians (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        first_name text NOT NULL,
        last_name text NOT NULL,
        email text,
        phone text,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX technicians_company_idx ON technicians (company_id, created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        status text NOT NULL CHECK (status IN ('unrouted', 'open', 'completed', 'canceled')),
        company_id uuid NOT NULL REFERENCES companies(id),
        technician_id uuid NOT NULL REFERENCES technicians(id),
        homeowner jsonb NOT NULL,
        address jsonb NOT NULL,
        summary text NOT NULL,
        trade text,
        revenue_cents bigint,
        currency text NOT NULL DEFAULT 'USD',
        completed_at timestamptz(3),
        finished_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX jobs_company_created_idx ON jobs (company_id, created_at DESC, id DESC)`);
    // Cleanup sweep: finished jobs by age.
    await q.query(`CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL`);

    await q.query(`
      CREATE TABLE routings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        company_id uuid NOT NULL REFERENCES companies(id),
        provider_type text NOT NULL CHECK (provider_type IN ('servicetitan', 'housecallpro')),
        status text NOT NULL CHECK (status IN ('pending', 'syncing', 'synced', 'completed', 'canceled', 'failed', 'permanently_failed')),
        external_id text,
        provider_status text,
        provider_status_raw text,
        attempts integer NOT NULL DEFAULT 0,
        next_retry_at timestamptz(3),
        last_error text,
        synced_at timestamptz(3),
        last_polled_at timestamptz(3),
        completed_at timestamptz(3),
        revenue_cents bigint,
        currency text NOT NULL DEFAULT 'USD',
        status_changed_at timestamptz(3) NOT NULL DEFAULT now(),
        claim_token uuid,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (job_id, company_id)
      )`);
    await q.query(`CREATE INDEX routings_created_idx ON routings (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX routings_company_created_idx ON routings (company_id, created_at DESC, id DESC)`);
    // The sweeps' queries: small partial indexes, one per state a sweep looks for.
    await q.query(`CREATE INDEX routings_pending_idx ON routings (created_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX routings_failed_retry_idx ON routings (next_retry_at) WHERE status = 'failed'`);
    await q.query(
      `CREATE INDEX routings_synced_poll_idx ON routings (company_id, last_polled_at NULLS FIRST) WHERE status = 'synced'`,
    );
    await q.query(`CREATE INDEX routings_syncing_idx ON routings (status_changed_at) WHERE status = 'syncing'`);

    await q.query(`
      CREATE TABLE routing_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        routing_id uuid NOT NULL REFERENCES routings(id) ON DELETE CASCADE,
        at timestamptz(3) NOT NULL DEFAULT now(),
        type text NOT NULL,
        outcome text NOT NULL,
        http_status integer,
        duration_ms integer,
        message text
      )`);
    await q.query(`CREATE INDEX routing_events_routing_idx ON routing_events (routing_id, id)`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'company')),
        company_id uuid REFERENCES companies(id),
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        revoked_at timestamptz(3),
        CHECK ((role = 'company') = (company_id IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        response_status integer,
        response_body jsonb,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`);

    // Archive tables mirror the live ones (no foreign keys), plus when the row was archived.
    for (const table of ['jobs', 'routings', 'routing_events']) {
      await q.query(`CREATE TABLE archived_${table} (LIKE ${table} INCLUDING DEFAULTS)`);
      await q.query(`ALTER TABLE archived_${table} ADD COLUMN archived_at timestamptz(3) NOT NULL DEFAULT now()`);
    }
    await q.query(`ALTER TABLE archived_jobs ADD PRIMARY KEY (id)`);
    await q.query(`ALTER TABLE archived_routings ADD PRIMARY KEY (id)`);
    await q.query(`ALTER TABLE archived_routing_events ADD PRIMARY KEY (id)`);
    await q.query(`CREATE INDEX archived_routings_job_idx ON archived_routings (job_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'archived_routing_events',
      'archived_routings',
      'archived_jobs',
      'idempotency_keys',
      'api_keys',
      'routing_events',
      'routings',
      'jobs',
      'technicians',
      'companies',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
