import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

import { TIMESTAMP, bigintAsNumber } from '../database/columns';
import { Job } from '../jobs/job.entity';
import { ProviderStatus, ProviderType } from '../providers/field-service-provider';
import { RoutingStatus } from './routing-status';

/** One job sent to one company: the unit of sync, retry and polling. */
@Entity('routings')
export class Routing {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') jobId: string;
  @ManyToOne(() => Job, (j) => j.routings, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: Job;
  @Column('uuid') companyId: string;
  /** The connection the routing was synced through, bound at its first attempt and kept for its life. */
  @Column('uuid', { nullable: true }) connectionId: string | null;
  @Column('text') providerType: ProviderType;
  @Column('text') status: RoutingStatus;
  @Column('text', { nullable: true }) externalId: string | null;
  @Column('text', { nullable: true }) providerStatus: ProviderStatus | null;
  @Column('text', { nullable: true }) providerStatusRaw: string | null;
  @Column('int', { default: 0 }) attempts: number;
  @Column({ ...TIMESTAMP, nullable: true }) nextRetryAt: Date | null;
  @Column('text', { nullable: true }) lastError: string | null;
  @Column({ ...TIMESTAMP, nullable: true }) syncedAt: Date | null;
  @Column({ ...TIMESTAMP, nullable: true }) lastPolledAt: Date | null;
  @Column({ ...TIMESTAMP, nullable: true }) completedAt: Date | null;
  @Column('bigint', { nullable: true, transformer: bigintAsNumber }) revenueCents: number | null;
  @Column('text', { default: 'USD' }) currency: string;
  /** When the current status was entered; finds routings stuck in syncing. */
  @Column({ ...TIMESTAMP, default: () => 'now()' }) statusChangedAt: Date;
  /** An attempt may have sent the provider create: later attempts look the record up before creating. */
  @Column('boolean', { default: false, select: false }) createSent: boolean;
  /** Set by the worker that claimed the routing for a sync attempt; its writes must carry it. */
  @Column('uuid', { nullable: true, select: false }) claimToken: string | null;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}
