import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsOptional, IsString, Length, MinDate } from 'class-validator';

import { PageQuery } from '../../common/page-query';
import { AUDIT_ACTIONS } from '../audit';

// As in ListJobsQuery: dates PostgreSQL can take, and "not a date" before "before year 1".
const EARLIEST = new Date('0001-01-01T00:00:00Z');

export class ListAuditEventsQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'company.updated', description: `One of: ${AUDIT_ACTIONS.join(', ')}` })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  action?: string;

  @ApiPropertyOptional({ example: 'company' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  resourceType?: string;

  @ApiPropertyOptional({ example: '3f0c1c9e-6f1e-4a8e-9d55-0d9a3b1f2c11' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  resourceId?: string;

  @ApiPropertyOptional({ description: 'The API key id of the actor' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actorKeyId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or after this time' })
  @IsOptional()
  @Type(() => Date)
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  from?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events before this time' })
  @IsOptional()
  @Type(() => Date)
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  to?: Date;
}
