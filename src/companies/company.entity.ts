import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import { TIMESTAMP } from '../database/columns';

@Entity('companies')
export class Company {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('boolean', { default: true }) isActive: boolean;
  @Column('text', { array: true, default: () => "'{}'" }) trades: string[];
  @Column('text', { array: true, default: () => "'{}'" }) serviceAreaZips: string[];
  @CreateDateColumn(TIMESTAMP) createdAt: Date;
  @UpdateDateColumn(TIMESTAMP) updatedAt: Date;
}
