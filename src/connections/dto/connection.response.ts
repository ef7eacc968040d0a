import { ApiProperty } from '@nestjs/swagger';

import { CONNECTION_STATUSES, ConnectionStatus } from '../connection.entity';

export class ConnectionResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) companyId: string;
  @ApiProperty({ example: 'servicetitan' }) providerType: string;
  @ApiProperty({ enum: CONNECTION_STATUSES }) status: ConnectionStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the connection is disabled or invalid',
    example: 'replaced by connection 0b6f…',
  })
  statusReason: string | null;
  @ApiProperty({
    description: "The connection's inbound webhook URL: give it to the provider (its path carries a secret token)",
    example: 'https://integrations.example.com/api/webhooks/housecallpro/0b6f…/q3Zk…',
  })
  webhookUrl: string;
  @ApiProperty({
    description: 'Routings this connection still serves (not yet completed, canceled or failed for good)',
  })
  openRoutings: number;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}
