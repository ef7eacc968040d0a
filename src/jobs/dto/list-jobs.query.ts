import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, Length, MinDate } from 'class-validator';

import { PageQuery } from '../../common/pagination';
import { JOB_STATUSES, JobStatus } from '../job-status';

// JavaScript dates reach back to 271821 BC, PostgreSQL's to 4713 BC: refuse what the database would.
// class-validator runs a property's decorators bottom-up: IsDate (last) is checked first, so "abc" is not a date
// rather than "before year 1".
const EARLIEST = new Date('0001-01-01T00:00:00Z');

export class ListJobsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'The referring company' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsUUID()
  companyId?: string;

  @ApiPropertyOptional({ enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  @ApiPropertyOptional({ example: 'electrical' })
  @IsOptional()
  @IsString()
  @Length(1, 50)
  trade?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdFrom?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdTo?: Date;
}
