import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsUUID } from 'class-validator';

import { PageQuery } from '../../common/page-query';
import { ProviderType } from '../../providers/field-service-provider';
import { IsProviderType } from '../../providers/provider-validation';
import { ROUTING_STATUSES, RoutingStatus } from '../routing-status';

const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);

export class ListRoutingsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ROUTING_STATUSES })
  @IsOptional()
  @IsIn(ROUTING_STATUSES)
  status?: RoutingStatus;

  @ApiPropertyOptional({ format: 'uuid', description: 'The receiving company' })
  @IsOptional()
  @Transform(lower)
  @IsUUID()
  companyId?: string;

  @ApiPropertyOptional({ description: 'A provider type (the OpenAPI document lists them)' })
  @IsOptional()
  @IsProviderType()
  providerType?: ProviderType;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @Transform(lower)
  @IsUUID()
  jobId?: string;
}
