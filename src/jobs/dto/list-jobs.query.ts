import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, Length, MaxDate, MinDate, isISO8601 } from 'class-validator';

import { PageQuery } from '../../common/page-query';
import { JOB_STATUSES, JobStatus } from '../job-status';

// JavaScript dates reach back to 271821 BC, PostgreSQL's to 4713 BC: refuse what the database would.
// class-validator runs a property's decorators bottom-up: IsDate (last) is checked first, so "abc" is not a date
// rather than "before year 1".
const EARLIEST = new Date('0001-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T23:59:59.999Z');

/**
 * Strict ISO 8601 (a date, or a date-time with an optional offset) becomes a Date; anything else stays text, which
 * `IsDate` refuses. `new Date()` alone would take "2020-02-30" as March 1 and "Jan 1 2020" as a date.
 */
const toStrictDate = ({ value }: { value: unknown }) =>
  typeof value === 'string' && isISO8601(value, { strict: true, strictSeparator: true }) ? new Date(value) : value;

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

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-01-01T00:00:00Z',
    description: 'Jobs created at or after this time (ISO 8601; a date alone is midnight UTC)',
  })
  @IsOptional()
  @Transform(toStrictDate)
  @MaxDate(LATEST, { message: 'must not be after year 9999' })
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date or date-time' })
  createdFrom?: Date;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-01-01T00:00:00Z',
    description: 'Jobs created before this time (ISO 8601; a date alone is midnight UTC)',
  })
  @IsOptional()
  @Transform(toStrictDate)
  @MaxDate(LATEST, { message: 'must not be after year 9999' })
  @MinDate(EARLIEST, { message: 'must not be before year 1' })
  @IsDate({ message: 'must be an ISO 8601 date or date-time' })
  createdTo?: Date;
}
