import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';

import { ISO_INSTANT_MESSAGE, MAX_RANGE_DAYS } from '../time-range';

export const GROUP_BYS = ['referrer', 'partner', 'provider', 'trade', 'day'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

// The shape only; parseRange checks the calendar (no 30 February) and that the range runs forward, ≤ 400 days.
const ISO_SHAPE = /^\d{4}-\d{2}-\d{2}([Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2}))?$/;
const RANGE_DOC = `Counted by routing creation time (UTC) over [from, to); at most ${MAX_RANGE_DAYS} days. A date means midnight UTC.`;

export class RangeQuery {
  @ApiProperty({ example: '2025-01-01', description: `Start, inclusive. ${RANGE_DOC}` })
  @IsDefined({ message: 'is required' })
  @IsString()
  @Matches(ISO_SHAPE, { message: ISO_INSTANT_MESSAGE })
  from: string;

  @ApiProperty({ example: '2025-04-01T00:00:00Z', description: 'End, exclusive; after `from`' })
  @IsDefined({ message: 'is required' })
  @IsString()
  @Matches(ISO_SHAPE, { message: ISO_INSTANT_MESSAGE })
  to: string;
}

export class FunnelQuery extends RangeQuery {
  @ApiProperty({
    enum: GROUP_BYS,
    description:
      '`referrer`: the job’s company; `partner`: the routing’s company; `provider`; `trade` (`none` for a job without ' +
      'one); `day`: the UTC creation day, `YYYY-MM-DD`',
  })
  @IsDefined({ message: 'is required' })
  @IsIn(GROUP_BYS)
  groupBy: GroupBy;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only routings where this company is the referrer or the partner (a company key: its own id)',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsUUID()
  companyId?: string;
}
