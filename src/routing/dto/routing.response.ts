import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { PROVIDER_STATUSES, ProviderStatus, ProviderType } from '../../providers/field-service-provider';
import { ROUTING_EVENT_OUTCOMES, ROUTING_EVENT_TYPES, RoutingEventType } from '../routing-event.entity';
import { ROUTING_STATUSES, RoutingStatus } from '../routing-status';

export class RoutingResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) jobId: string;
  @ApiProperty({ format: 'uuid', description: 'The receiving company' }) companyId: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The connection the routing was synced through (set at its first sync attempt, then kept)',
  })
  connectionId: string | null;
  @ApiProperty({ type: String, example: 'servicetitan', description: "The connection's provider" })
  providerType: ProviderType;
  @ApiProperty({
    enum: ROUTING_STATUSES,
    description:
      '`pending` → `syncing` → `synced` (at the provider) → `completed` or `canceled`; a failed sync is `failed` ' +
      '(retried at `nextRetryAt`), then `permanently_failed`',
  })
  status: RoutingStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '98765',
    description: "The provider's id (ServiceTitan booking, Housecall Pro job)",
  })
  externalId: string | null;
  @ApiProperty({ enum: PROVIDER_STATUSES, nullable: true, description: 'Where the job stands at the provider' })
  providerStatus: ProviderStatus | null;
  @ApiProperty({ type: String, nullable: true, example: 'InProgress', description: "The provider's own status" })
  providerStatusRaw: string | null;
  @ApiProperty({ type: 'integer', minimum: 0, example: 1, description: 'Sync attempts made' }) attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextRetryAt: Date | null;
  @ApiProperty({ type: String, nullable: true, example: 'ServiceTitan answered 503' }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) syncedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastPolledAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 48500, description: 'In cents (minor units)' })
  revenueCents: number | null;
  @ApiProperty({ enum: ['USD'], example: 'USD' }) currency: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class RoutingEventResponse {
  @ApiProperty({ format: 'date-time' }) at: Date;
  @ApiProperty({ enum: ROUTING_EVENT_TYPES }) type: RoutingEventType;
  @ApiProperty({
    enum: ROUTING_EVENT_OUTCOMES,
    example: 'success',
    description:
      'The routing status the event led to, a sync attempt result (`success`, `retryable_error`, ' +
      '`permanent_error`), or for `poll` the provider status read',
  })
  outcome: string;
  @ApiPropertyOptional({ type: 'integer', example: 201, description: "The provider's HTTP status (sync attempts)" })
  httpStatus?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, example: 182, description: 'Duration of a sync attempt' })
  durationMs?: number;
  @ApiPropertyOptional({ example: 'created 98765' }) message?: string;
}

export class RoutingWithEventsResponse extends RoutingResponse {
  @ApiProperty({ type: [RoutingEventResponse], description: 'Oldest first' }) events: RoutingEventResponse[];
}
