import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';

import { PageQuery } from '../../common/pagination';
import { JOB_STATUSES, JobStatus } from '../job-status';

export class ListJobsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'The referring company' })
  @IsOptional()
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
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdFrom?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdTo?: Date;
}
