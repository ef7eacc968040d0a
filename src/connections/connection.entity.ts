import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';
import { ProviderType } from '../providers/field-service-provider';

export const CONNECTION_STATUSES = ['active', 'disabled', 'invalid'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/**
 * One company's link to one provider account (SPEC section 9). A company has at most one `active` connection;
 * a replaced one is `disabled` but keeps serving the routings synced through it; one whose credentials the
 * provider rejects for good is `invalid`.
 */
@Entity('connections')
export class Connection {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') companyId: string;
  @Column('text') providerType: ProviderType;
  @Column('text') status: ConnectionStatus;
  @Column('text', { nullable: true }) statusReason: string | null;
  /** AES-256-GCM ciphertext of the provider credentials or OAuth tokens (credentials-cipher.ts). */
  @Column('text', { select: false }) credentials: string;
  /** AES-256-GCM ciphertext of the secret in this connection's inbound webhook URL. */
  @Column('text', { nullable: true, select: false }) webhookToken: string | null;
  /** The provider's own account id, where its webhooks name the account (Jobber). */
  @Column('text', { nullable: true }) externalAccountId: string | null;
  /** Where the last poll's change feed stopped (polling.service.ts); never part of an API answer. */
  @Column('jsonb', { nullable: true, select: false }) pollCursor: { position: string; takenAt: string } | null;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}
