import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';

import { IsOptionalNonNull } from '../../common/validation';
import { PageQuery } from '../../common/page-query';
import { WEBHOOK_ENDPOINT_STATUSES, WebhookEndpointStatus } from '../webhook-endpoint.entity';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../webhook-events';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);

const EVENTS_DESCRIPTION = 'Event types to receive; absent or empty: every type';

export class CreateWebhookEndpointDto {
  @ApiProperty({ example: 'https://hooks.example.com/tradeengage', maxLength: 2000 })
  @Transform(trim)
  @IsString()
  @Length(1, 2000)
  url: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES, isArray: true, description: EVENTS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value must be one of: ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events?: WebhookEventType[];

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptionalNonNull()
  @Transform(trim)
  @IsString()
  @Length(1, 2000)
  url?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES, isArray: true, description: EVENTS_DESCRIPTION })
  @IsOptionalNonNull()
  @IsArray()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value must be one of: ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events?: WebhookEventType[];

  @ApiPropertyOptional({ maxLength: 500, nullable: true, type: String })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({
    enum: WEBHOOK_ENDPOINT_STATUSES,
    description: '`disabled` stops deliveries (those still waiting are canceled); `enabled` resumes with new events',
  })
  @IsOptionalNonNull()
  @IsIn(WEBHOOK_ENDPOINT_STATUSES)
  status?: WebhookEndpointStatus;
}

export class WebhookEndpointResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, description: 'Empty: every event type' })
  events: string[];
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ enum: WEBHOOK_ENDPOINT_STATUSES }) status: WebhookEndpointStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the endpoint was disabled',
    example: 'the receiver answered 410 Gone',
  })
  statusReason: string | null;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Set when a company key made the endpoint: it then receives only what that company may read',
  })
  companyId: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class CreatedWebhookEndpointResponse extends WebhookEndpointResponse {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'The signing secret (Standard Webhooks): shown only in this response, stored encrypted. ' +
      '`webhook-signature` = `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the ' +
      'base64-decoded part after `whsec_`',
  })
  secret: string;
}

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only the attempts of this event (the `webhook-id` header)' })
  @IsOptional()
  @Transform(lower)
  @IsUUID()
  eventId?: string;
}

/** One attempt of one delivery. */
export class WebhookDeliveryAttemptResponse {
  @ApiProperty({ format: 'uuid', description: 'The attempt' }) id: string;
  @ApiProperty({ format: 'uuid', description: 'The delivery (one event to this endpoint): what `redeliver` takes' })
  deliveryId: string;
  @ApiProperty({ format: 'uuid', description: 'The event, sent as `webhook-id`' }) eventId: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) eventType: string;
  @ApiProperty({ example: 1 }) attempt: number;
  @ApiProperty({ enum: ['success', 'http_error', 'gone', 'timeout', 'network_error', 'refused'] }) outcome: string;
  @ApiProperty({ type: Number, nullable: true, example: 200 }) httpStatus: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 84 }) durationMs: number | null;
  @ApiProperty({ type: String, nullable: true, example: 'HTTP 503' }) error: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the next attempt is due, after a failed one that will be retried',
  })
  nextAttemptAt: Date | null;
  @ApiProperty({ format: 'date-time', description: 'When the attempt was made' }) createdAt: Date;
}

export class RedeliveryResponse {
  @ApiProperty({ format: 'uuid' }) deliveryId: string;
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'pending' }) status: string;
  @ApiProperty({ format: 'date-time' }) nextAttemptAt: Date;
}
