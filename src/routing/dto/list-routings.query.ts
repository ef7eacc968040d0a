import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';

import { PageQuery } from '../../common/pagination';
import { PROVIDER_TYPES, ProviderType } from '../../providers/field-service-provider';
import { ROUTING_STATUSES, RoutingStatus } from '../routing-status';

export class ListRoutingsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ROUTING_STATUSES })
  @IsOptional()
  @IsIn(ROUTING_STATUSES)
  status?: RoutingStatus;

  @ApiPropertyOptional({ format: 'uuid', description: 'The receiving company' })
  @IsOptional()
  @IsUUID()
  companyId?: string;

  @ApiPropertyOptional({ enum: PROVIDER_TYPES })
  @IsOptional()
  @IsIn(PROVIDER_TYPES)
  providerType?: ProviderType;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  jobId?: string;
}
