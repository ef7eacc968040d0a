import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';
import { PROVIDER_STATUSES } from '../providers/field-service-provider';

export const ROUTING_EVENT_TYPES = [
  'created',
  'enqueued',
  'sync_attempt',
  'poll',
  'status_change',
  'retry_scheduled',
  'manual_retry',
  'rescued',
] as const;
export type RoutingEventType = (typeof ROUTING_EVENT_TYPES)[number];

/**
 * What an event ended in: the routing status it led to (`pending`, `synced`, `failed`, `permanently_failed`,
 * `completed`, `canceled`), a sync attempt's result (`success`, `retryable_error`, `permanent_error`), or for a
 * `poll`, the provider status read (PROVIDER_STATUSES).
 */
export const ROUTING_EVENT_OUTCOMES = [
  ...new Set([
    'pending',
    'synced',
    'failed',
    'permanently_failed',
    'completed',
    'canceled',
    'success',
    'retryable_error',
    'permanent_error',
    // No call was made: the connection's circuit was open.
    'deferred',
    ...PROVIDER_STATUSES,
  ]),
];

@Entity('routing_events')
export class RoutingEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id: string;
  @Column('uuid') routingId: string;
  @Column({ ...TIMESTAMP, default: () => 'now()' }) at: Date;
  @Column('text') type: RoutingEventType;
  @Column('text') outcome: string;
  @Column('int', { nullable: true }) httpStatus: number | null;
  @Column('int', { nullable: true }) durationMs: number | null;
  @Column('text', { nullable: true }) message: string | null;
}
