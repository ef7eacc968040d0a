import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

import { ConflictError, UnprocessableError } from '../common/errors';
import type { WriteStatement } from '../database/write-statement';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'replay'; status: number; body: unknown };

// A claim whose request died without finishing is taken over after this long.
const ABANDONED_AFTER = '60 seconds';
const KEY_LIFETIME = '24 hours';

/** Idempotency-Key handling (SPEC section 3), in PostgreSQL so every API replica agrees. */
@Injectable()
export class IdempotencyService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Claims the key for this request, or tells how to answer when it was seen before. */
  async claim(scope: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    // One statement: insert, or take over an expired or abandoned claim; returns nothing if someone else holds it.
    const claimed: unknown[] = await this.db.query(
      `INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT (scope, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response_status = NULL, response_body = NULL, created_at = now()
         WHERE idempotency_keys.created_at < now() - interval '${KEY_LIFETIME}'
            OR (idempotency_keys.response_status IS NULL AND idempotency_keys.created_at < now() - interval '${ABANDONED_AFTER}')
       RETURNING key`,
      [scope, key, fingerprint],
    );
    if (claimed.length) return { kind: 'claimed' };

    const [existing] = (await this.db.query(
      `SELECT fingerprint, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2`,
      [scope, key],
    )) as { fingerprint: string; response_status: number | null; response_body: unknown }[];
    if (!existing) return this.claim(scope, key, fingerprint); // expired and deleted in between
    if (existing.fingerprint !== fingerprint) {
      throw new UnprocessableError('This Idempotency-Key was used with a different request body', [
        { field: 'Idempotency-Key', message: 'was already used with a different body' },
      ]);
    }
    if (existing.response_status === null) {
      throw new ConflictError('A request with this Idempotency-Key is still in progress');
    }
    return { kind: 'replay', status: existing.response_status, body: existing.response_body };
  }

  /** Records the response in the same transaction as the work it describes. */
  async complete(manager: EntityManager, scope: string, key: string, status: number, body: unknown): Promise<void> {
    await manager.query(
      `UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2`,
      [scope, key, status, JSON.stringify(body)],
    );
  }

  /**
   * `complete` as a part of the statement that writes the work it describes (WriteStatement). The body's
   * timestamps may be the statement's own now(): every JSON string `nowPlaceholder` in it becomes now() as
   * JSON.stringify writes a Date (ms, UTC, `Z`).
   */
  addComplete(
    statement: WriteStatement,
    record: { scope: string; key: string; status: number; body: unknown; nowPlaceholder?: string },
  ): void {
    const body = statement.param(JSON.stringify(record.body), 'text');
    const value = record.nowPlaceholder
      ? `replace(${body}, ${statement.param(JSON.stringify(record.nowPlaceholder), 'text')},
                 to_json(to_char(now()::timestamptz(3) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text)::jsonb`
      : `${body}::jsonb`;
    statement.add(
      'idempotency_complete',
      `UPDATE idempotency_keys SET response_status = ${statement.param(record.status, 'int')}, response_body = ${value}
        WHERE scope = ${statement.param(record.scope, 'text')} AND key = ${statement.param(record.key, 'text')}`,
    );
  }

  /** Frees the key when the request failed, so the client may try again. */
  async release(scope: string, key: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND response_status IS NULL`, [
      scope,
      key,
    ]);
  }

  /** Cleanup: forget keys older than their lifetime. */
  async expire(): Promise<number> {
    const [, affected] = (await this.db.query(
      `DELETE FROM idempotency_keys WHERE created_at < now() - interval '${KEY_LIFETIME}'`,
    )) as [unknown, number];
    return affected;
  }
}
