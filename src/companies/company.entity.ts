import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';
import { ProviderType } from '../providers/field-service-provider';

@Entity('companies')
export class Company {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('boolean', { default: true }) isActive: boolean;
  @Column('text', { array: true, default: () => "'{}'" }) trades: string[];
  @Column('text', { array: true, default: () => "'{}'" }) serviceAreaZips: string[];
  @Column('text', { nullable: true }) providerType: ProviderType | null;
  /** AES-256-GCM ciphertext (see credentials-cipher.ts); never leaves the service in clear. */
  @Column('text', { nullable: true, select: false }) providerCredentials: string | null;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}
