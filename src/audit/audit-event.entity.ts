import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';
import type { Actor } from './actor';
import type { AuditChanges } from './audit';

/** One recorded change (SPEC section 14); written only by recordAuditEvent, removed only by the retention purge. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid') id: string;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @Column('text') action: string;
  @Column('text') resourceType: string;
  @Column('text') resourceId: string;
  @Column('text') actorRole: Actor['role'];
  @Column('text', { nullable: true }) actorKeyId: string | null;
  @Column('uuid', { nullable: true }) actorCompanyId: string | null;
  @Column('text', { nullable: true }) requestId: string | null;
  @Column('jsonb') changes: AuditChanges;
}
