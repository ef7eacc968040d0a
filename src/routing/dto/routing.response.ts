import { ApiProperty } from '@nestjs/swagger';

import { PROVIDER_STATUSES, ProviderStatus, ProviderType } from '../../providers/field-service-provider';
import { ROUTING_EVENT_TYPES, RoutingEventType } from '../routing-event.entity';
import { ROUTING_STATUSES, RoutingStatus } from '../routing-status';

export class RoutingResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) jobId: string;
  @ApiProperty({ format: 'uuid' }) companyId: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The connection the routing was synced through (set at its first sync attempt, then kept)',
  })
  connectionId: string | null;
  @ApiProperty({ type: String, example: 'servicetitan' }) providerType: ProviderType;
  @ApiProperty({ enum: ROUTING_STATUSES }) status: RoutingStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "The provider's id (ServiceTitan booking, Housecall Pro job)",
  })
  externalId: string | null;
  @ApiProperty({ enum: PROVIDER_STATUSES, nullable: true }) providerStatus: ProviderStatus | null;
  @ApiProperty({ type: String, nullable: true, example: 'InProgress' }) providerStatusRaw: string | null;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextRetryAt: Date | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) syncedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastPolledAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Integer minor units' }) revenueCents: number | null;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class RoutingEventResponse {
  @ApiProperty({ format: 'date-time' }) at: Date;
  @ApiProperty({ enum: ROUTING_EVENT_TYPES }) type: RoutingEventType;
  @ApiProperty({ example: 'success' }) outcome: string;
  @ApiProperty({ type: Number, required: false }) httpStatus?: number;
  @ApiProperty({ type: Number, required: false }) durationMs?: number;
  @ApiProperty({ type: String, required: false }) message?: string;
}

export class RoutingWithEventsResponse extends RoutingResponse {
  @ApiProperty({ type: [RoutingEventResponse] }) events: RoutingEventResponse[];
}
