import { ApiProperty } from '@nestjs/swagger';

import { US_STATES } from '../../common/contact';
import { RoutingResponse } from '../../routing/dto/routing.response';
import { UNROUTED_REASONS, UnroutedReason } from '../../routing/routing-rules';
import { JOB_STATUSES, JobStatus } from '../job-status';

class HomeownerResponse {
  @ApiProperty({ example: 'Jane' }) firstName: string;
  @ApiProperty({ example: 'Doe' }) lastName: string;
  @ApiProperty({ type: String, nullable: true, example: '+15125550147', description: 'E.164' }) phone: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'email', example: 'jane.doe@example.com' })
  email: string | null;
}

class AddressResponse {
  @ApiProperty({ example: '500 Congress Ave' }) street: string;
  @ApiProperty({ type: String, nullable: true, example: 'Apt 4' }) unit: string | null;
  @ApiProperty({ example: 'Austin' }) city: string;
  @ApiProperty({ enum: [...US_STATES], example: 'TX' }) state: string;
  @ApiProperty({ example: '78701' }) zip: string;
  @ApiProperty({ enum: ['US'], example: 'US' }) country: string;
}

export class JobResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    enum: JOB_STATUSES,
    description:
      '`unrouted`: no company received it (see `unroutedReason`); `open`: routed; then `completed` or `canceled`',
  })
  status: JobStatus;
  @ApiProperty({ format: 'uuid', description: 'The referring company' }) companyId: string;
  @ApiProperty({ format: 'uuid' }) technicianId: string;
  @ApiProperty({ type: HomeownerResponse }) homeowner: HomeownerResponse;
  @ApiProperty({ type: AddressResponse }) address: AddressResponse;
  @ApiProperty({ example: 'Breaker trips when the dryer runs' }) summary: string;
  @ApiProperty({ type: String, nullable: true, example: 'electrical', description: 'A trade of the taxonomy' })
  trade: string | null;
  @ApiProperty({
    enum: UNROUTED_REASONS,
    nullable: true,
    description:
      'Why an `unrouted` job reached no company: `no_targets` (an empty `targetCompanyIds`), `no_receiving_company` ' +
      '(no other active company has a provider connected), `no_company_for_trade` (none of them takes this trade), ' +
      '`no_company_serving_zip` (some take it, none serves this ZIP). `null` for routed jobs.',
  })
  unroutedReason: UnroutedReason | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 48500,
    description: 'Sum over completed routings, in cents (minor units of `currency`)',
  })
  revenueCents: number | null;
  @ApiProperty({ enum: ['USD'], example: 'USD' }) currency: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: Date | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
  @ApiProperty({ type: [RoutingResponse], description: 'One per receiving company, oldest first' })
  routings: RoutingResponse[];
}
