import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

export const WEBHOOK_ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

/** Where TradeEngage's own systems receive outbound webhooks (SPEC section 11). */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** Set for an endpoint a company key made: it receives only what that company may read. Null: everything. */
  @Column('uuid', { nullable: true }) companyId: string | null;
  @Column('text') url: string;
  /** Event types subscribed to; empty means every type. */
  @Column('text', { array: true }) events: string[];
  @Column('text', { nullable: true }) description: string | null;
  @Column('text') status: WebhookEndpointStatus;
  @Column('text', { nullable: true }) statusReason: string | null;
  /** AES-256-GCM ciphertext of the signing secret (CredentialsCipher); the secret is shown once. */
  @Column('text', { select: false }) secret: string;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}

/** One attempt to deliver one event to one endpoint: the delivery log. */
@Entity('webhook_delivery_attempts')
export class WebhookDeliveryAttempt {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') deliveryId: string;
  @Column('uuid') endpointId: string;
  @Column('uuid') eventId: string;
  @Column('text') eventType: string;
  @Column('int') attempt: number;
  @Column('text') outcome: string;
  @Column('int', { nullable: true }) httpStatus: number | null;
  @Column('int', { nullable: true }) durationMs: number | null;
  @Column('text', { nullable: true }) error: string | null;
  @Column({ ...TIMESTAMP, nullable: true }) nextAttemptAt: Date | null;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
}
