import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

import { ValidationError } from './errors';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface CursorPosition {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeCursor(cursor: string): CursorPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    // PostgreSQL gets a canonical ISO time of years 1..9999, never the cursor's own text: Date.parse accepts
    // "Jan 1 2020 GMT+9999" or "+218343-03-27T00:00:00Z", which the database refuses with a 5xx-shaped error.
    const at = typeof createdAt === 'string' ? new Date(createdAt) : null;
    const year = at?.getUTCFullYear() ?? NaN;
    if (at && year >= 1 && year <= 9999 && typeof id === 'string' && UUID.test(id)) {
      return { createdAt: at.toISOString(), id };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/**
 * Keyset pagination, newest first, over (created_at, id): stable under concurrent inserts,
 * no gaps or duplicates. Fetches one extra row to know whether another page exists.
 */
export function pageQuery<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  query: { limit: number; cursor?: string },
): SelectQueryBuilder<T> {
  if (query.cursor) {
    const position = decodeCursor(query.cursor);
    qb.andWhere(`(${alias}.createdAt, ${alias}.id) < (:cursorCreatedAt, :cursorId)`, {
      cursorCreatedAt: position.createdAt,
      cursorId: position.id,
    });
  }
  return qb
    .orderBy(`${alias}.createdAt`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .take(query.limit + 1);
}

export function toPage<T extends { createdAt: Date; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null };
}
