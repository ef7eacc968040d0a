import { Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Queue } from 'bullmq';
import { Request } from 'express';

import { Roles } from '../auth/caller';
import { ValidationError } from '../common/errors';
import { ApiProblems } from '../common/openapi';
import { readQueueStats } from '../queue/queue-stats';
import { ALL_QUEUES, SWEEP_NAMES, SweepName } from '../queue/queues';
import { REDIS_DEADLINE_MS } from '../redis/deadline';
import { SweepsService } from '../sweeps/sweeps.service';

class SweepRunResponse {
  @ApiProperty({ enum: SWEEP_NAMES }) name: SweepName;
  @ApiProperty({ format: 'uuid' }) sweepId: string;
}

class QueueCountsResponse {
  @ApiProperty({ example: 'sync' }) name: string;
  @ApiProperty() waiting: number;
  @ApiProperty() active: number;
  @ApiProperty() delayed: number;
  @ApiProperty() failed: number;
  @ApiProperty() completed: number;
  @ApiProperty({ description: 'Waiting jobs with a priority' }) prioritized: number;
}

@ApiTags('operations')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly sweeps: SweepsService,
    @Inject(ALL_QUEUES) private readonly queues: Queue[],
  ) {}

  @Post('sweeps/:name/run')
  @HttpCode(202)
  @ApiParam({ name: 'name', enum: SWEEP_NAMES })
  @ApiAcceptedResponse({ type: SweepRunResponse, description: 'Enqueued through the same path as the cron' })
  @ApiProblems(400, 401, 403, 503)
  async runSweep(@Param('name') name: string, @Req() req: Request & { id?: string }): Promise<SweepRunResponse> {
    if (!(SWEEP_NAMES as readonly string[]).includes(name)) {
      throw new ValidationError([{ field: 'name', message: `must be one of ${SWEEP_NAMES.join(', ')}` }]);
    }
    const sweepId = await this.sweeps.trigger(name as SweepName, req.id ? String(req.id) : undefined);
    return { name: name as SweepName, sweepId };
  }

  @Get('queues')
  @ApiOkResponse({ type: [QueueCountsResponse] })
  @ApiProblems(401, 403, 503)
  async queueCounts(): Promise<QueueCountsResponse[]> {
    // The counts are Redis's to give: while it is down this is a 503 within the Redis deadline.
    const stats = await Promise.all(this.queues.map((queue) => readQueueStats(queue, REDIS_DEADLINE_MS)));
    return stats.map(({ name, counts }) => ({
      name,
      waiting: counts.waiting,
      active: counts.active,
      delayed: counts.delayed,
      failed: counts.failed,
      completed: counts.completed,
      prioritized: counts.prioritized,
    }));
  }
}
