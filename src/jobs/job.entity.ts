import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP, bigintAsNumber } from '../database/columns';
import { UnroutedReason } from '../routing/routing-rules';
import { Routing } from '../routing/routing.entity';
import { JobStatus } from './job-status';

export interface Homeowner {
  firstName: string;
  lastName: string;
  phone: string | null;
  email: string | null;
}

export interface Address {
  street: string;
  unit: string | null;
  city: string;
  state: string;
  zip: string;
  country: string;
}

@Entity('jobs')
export class Job {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') status: JobStatus;
  @Column('uuid') companyId: string;
  @Column('uuid') technicianId: string;
  @Column('jsonb') homeowner: Homeowner;
  @Column('jsonb') address: Address;
  @Column('text') summary: string;
  @Column('text', { nullable: true }) trade: string | null;
  /** Set when the job is `unrouted`: which routing rule left no company. */
  @Column('text', { nullable: true }) unroutedReason: UnroutedReason | null;
  @Column('bigint', { nullable: true, transformer: bigintAsNumber }) revenueCents: number | null;
  @Column('text', { default: 'USD' }) currency: string;
  @Column({ ...TIMESTAMP, nullable: true }) completedAt: Date | null;
  /** When the job reached completed or canceled; the archive age is measured from here. */
  @Column({ ...TIMESTAMP, nullable: true }) finishedAt: Date | null;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
  @OneToMany(() => Routing, (r) => r.job) routings?: Routing[];
}
