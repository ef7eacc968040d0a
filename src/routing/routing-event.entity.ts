import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

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
