import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

@Entity('technicians')
export class Technician {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid') companyId: string;
  @Column('text') firstName: string;
  @Column('text') lastName: string;
  @Column('text', { nullable: true }) email: string | null;
  @Column('text', { nullable: true }) phone: string | null;
  @Column('boolean', { default: true }) isActive: boolean;
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}
