import { isDeepStrictEqual } from 'node:util';

import { EntityManager } from 'typeorm';

import type { WriteStatement } from '../database/write-statement';

import { Actor } from './actor';

export const REDACTED = '[redacted]';

/** `<resource>.<verb>` (SPEC section 14). Queue dashboard actions are named after Bull Board's routes. */
export const AUDIT_ACTIONS = [
  'api_key.created',
  'api_key.revoked',
  'company.created',
  'company.updated',
  'technician.created',
  'technician.updated',
  'job.created',
  'routing.retried',
  'connection.created',
  'connection.disabled',
  'connection.invalidated',
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.deleted',
  'sweep.triggered',
  'queue.job_added',
  'queue.job_retried',
  'queue.job_removed',
  'queue.job_promoted',
  'queue.job_updated',
  'queue.jobs_retried',
  'queue.jobs_cleaned',
  'queue.jobs_promoted',
  'queue.paused',
  'queue.resumed',
  'queue.emptied',
  'queue.obliterated',
  'queue.settings_updated',
  'queue.scheduler_updated',
  'queue.scheduler_removed',
  'queue.scheduler_run',
  'queue.changed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Changed fields (dotted paths for nested ones) with their old and new values; `null` where there was none. */
export type AuditChanges = Record<string, { old: unknown; new: unknown }>;

export interface AuditEventInput {
  actor: Actor;
  action: AuditAction;
  resourceType: string;
  resourceId: string;
  changes: AuditChanges;
}

// Secrets are named alike everywhere: credentials, tokens, keys (apiKey, not keyPrefix), secrets, passwords.
const SECRET_FIELD = /(credentials|secret|token|password|key|authorization)$/i;

/**
 * Records one audit event inside `m`, the transaction of the change it describes, so neither can be committed
 * without the other. Secret fields (by name, at any depth) are stored only as "[redacted]". A change that
 * changed nothing (empty `changes`) records nothing. Returns whether an event was recorded. In a service:
 *
 *   await recordAuditEvent(m, { actor, action: 'webhook_endpoint.updated', resourceType: 'webhook_endpoint',
 *     resourceId: id, changes: changesBetween(before, after) });
 *
 * with `actor` from the controller's `@CurrentActor()` (or `systemActor()` for what the service does by itself).
 */
export async function recordAuditEvent(m: EntityManager, event: AuditEventInput): Promise<boolean> {
  if (!Object.keys(event.changes).length) return false;
  await m.query(
    `INSERT INTO audit_events
       (action, resource_type, resource_id, actor_role, actor_key_id, actor_company_id, request_id, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    auditEventValues(event),
  );
  return true;
}

/** recordAuditEvent as a part of a statement that writes the change it describes (WriteStatement). */
export function addAuditEvent(statement: WriteStatement, event: AuditEventInput): boolean {
  if (!Object.keys(event.changes).length) return false;
  const values = auditEventValues(event).map((v) => statement.param(v));
  statement.add(
    'audit_event',
    `INSERT INTO audit_events
       (action, resource_type, resource_id, actor_role, actor_key_id, actor_company_id, request_id, changes)
     VALUES (${values.join(', ')})`,
  );
  return true;
}

function auditEventValues(event: AuditEventInput): unknown[] {
  const { actor } = event;
  return [
    event.action,
    event.resourceType,
    event.resourceId,
    actor.role,
    actor.apiKeyId,
    actor.companyId,
    actor.requestId,
    JSON.stringify(redactChanges(event.changes)),
  ];
}

/**
 * The fields whose values differ between two snapshots of a resource (`null` before: created; `null` after:
 * deleted). Values are compared as they would be stored (JSON), so a Date equals its ISO string.
 */
export function changesBetween(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): AuditChanges {
  const changes: AuditChanges = {};
  for (const field of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
    const old = asJson(before?.[field]);
    const now = asJson(after?.[field]);
    if (!isDeepStrictEqual(old, now)) changes[field] = { old, new: now };
  }
  return changes;
}

/** Secret fields keep only whether they were set: "[redacted]", or null when there was none. */
export function redactChanges(changes: AuditChanges): AuditChanges {
  return Object.fromEntries(
    Object.entries(changes).map(([field, change]) => {
      const name = field.slice(field.lastIndexOf('.') + 1);
      return [field, { old: redactValue(name, change.old), new: redactValue(name, change.new) }];
    }),
  );
}

function redactValue(name: string, value: unknown): unknown {
  if (SECRET_FIELD.test(name)) return value == null ? null : REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue('', item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(key, item)]));
  }
  return value;
}

function asJson(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}
