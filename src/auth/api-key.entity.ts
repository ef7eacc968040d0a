import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

export const API_KEY_ROLES = ['admin', 'company'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') role: ApiKeyRole;
  @Column('uuid', { nullable: true }) companyId: string | null;
  /** SHA-256 of the key; the key itself is shown once at creation. */
  @Column('text', { select: false }) keyHash: string;
  @Column('text') keyPrefix: string;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @Column({ ...TIMESTAMP, nullable: true }) revokedAt: Date | null;
}
