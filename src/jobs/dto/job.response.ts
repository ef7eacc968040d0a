import { ApiProperty } from '@nestjs/swagger';

import { RoutingResponse } from '../../routing/dto/routing.response';
import { JOB_STATUSES, JobStatus } from '../job-status';

class HomeownerResponse {
  @ApiProperty() firstName: string;
  @ApiProperty() lastName: string;
  @ApiProperty({ type: String, nullable: true, example: '+15125550147' }) phone: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
}

class AddressResponse {
  @ApiProperty() street: string;
  @ApiProperty({ type: String, nullable: true }) unit: string | null;
  @ApiProperty() city: string;
  @ApiProperty({ example: 'TX' }) state: string;
  @ApiProperty({ example: '78701' }) zip: string;
  @ApiProperty({ example: 'US' }) country: string;
}

export class JobResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: JOB_STATUSES }) status: JobStatus;
  @ApiProperty({ format: 'uuid' }) companyId: string;
  @ApiProperty({ format: 'uuid' }) technicianId: string;
  @ApiProperty({ type: HomeownerResponse }) homeowner: HomeownerResponse;
  @ApiProperty({ type: AddressResponse }) address: AddressResponse;
  @ApiProperty() summary: string;
  @ApiProperty({ type: String, nullable: true }) trade: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Sum over completed routings, integer minor units' })
  revenueCents: number | null;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
  @ApiProperty({ type: [RoutingResponse] }) routings: RoutingResponse[];
}
