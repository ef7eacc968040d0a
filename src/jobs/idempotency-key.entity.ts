import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

@Entity('idempotency_keys')
export class IdempotencyKey {
  /** The API key that sent it: keys are scoped per caller. */
  @PrimaryColumn('text') scope: string;
  @PrimaryColumn('text') key: string;
  @Column('text') fingerprint: string;
  @Column('int', { nullable: true }) responseStatus: number | null;
  @Column('jsonb', { nullable: true }) responseBody: unknown;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
}
