import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { MEDIAN_MAX_ERROR } from '../duration-histogram';
import { GROUP_BYS, GroupBy } from './analytics.query';

const MEDIAN_DOC =
  'Milliseconds; null when nothing to measure. The lower median (the ⌈n/2⌉-th smallest), read from a histogram of ' +
  `16 buckets per doubling: within ${(MEDIAN_MAX_ERROR * 100).toFixed(1)}% × (true + 1 ms) + 0.5 ms of the exact one.`;

export class Funnel {
  @ApiProperty({ description: 'Routings created in the range' }) created: number;
  @ApiProperty({ description: 'Of those, the ones that ever reached `synced`' }) synced: number;
  @ApiProperty({ description: 'Provider status ever `scheduled`, `in_progress` or `completed`' }) scheduled: number;
  @ApiProperty({ description: 'Provider status ever `in_progress` or `completed`' }) inProgress: number;
  @ApiProperty({ description: 'Routings now `completed`' }) completed: number;
  @ApiProperty({ description: 'Routings now `canceled`' }) canceled: number;
  @ApiProperty({ description: 'Routings now `permanently_failed`' }) permanentlyFailed: number;
  @ApiProperty({ type: Number, nullable: true, description: 'completed ÷ synced; null when synced is 0' })
  conversionRate: number | null;
  @ApiProperty({ description: 'Sum over completed routings, integer minor units' }) revenueCents: number;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ type: Number, nullable: true, description: `Creation → first sync. ${MEDIAN_DOC}` })
  medianCreatedToSyncedMs: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: `First sync → completion (the provider’s completion time, else when the service saw it), over completed routings. ${MEDIAN_DOC}`,
  })
  medianSyncedToCompletedMs: number | null;
}

export class FunnelGroup extends Funnel {
  @ApiProperty({ description: 'Company id, provider type, trade (`none`) or day (`YYYY-MM-DD`)' }) key: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'The company’s name (referrer and partner)' })
  name?: string | null;
}

export class FunnelResponse {
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ enum: GROUP_BYS }) groupBy: GroupBy;
  @ApiProperty({ type: [FunnelGroup], description: 'Sorted by key' }) groups: FunnelGroup[];
  @ApiProperty({ type: Funnel }) totals: Funnel;
}

export class ReferrerMonth {
  @ApiProperty({ example: '2025-03' }) month: string;
  @ApiProperty({ description: 'Jobs the company created in the month (routed or not)' }) jobsReferred: number;
  @ApiProperty({ description: 'Of those, the ones now completed' }) jobsCompleted: number;
  @ApiProperty({ description: 'Their revenue (sum over completed routings), integer minor units' })
  revenueCents: number;
}

export class ReferrerMonthsResponse {
  @ApiProperty({ format: 'uuid' }) companyId: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({
    type: [ReferrerMonth],
    description: 'Every month that overlaps [from, to), oldest first, counted by job creation time (UTC)',
  })
  months: ReferrerMonth[];
}
