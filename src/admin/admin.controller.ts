import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Queue } from 'bullmq';

import { Actor, CurrentActor } from '../audit/actor';
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

const COUNT = { type: 'integer', minimum: 0, example: 0 } as const;

class QueueCountsResponse {
  @ApiProperty({ example: 'sync' }) name: string;
  @ApiProperty(COUNT) waiting: number;
  @ApiProperty(COUNT) active: number;
  @ApiProperty(COUNT) delayed: number;
  @ApiProperty(COUNT) failed: number;
  @ApiProperty(COUNT) completed: number;
  @ApiProperty({ ...COUNT, description: 'Waiting jobs with a priority' }) prioritized: number;
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
  @ApiOperation({
    operationId: 'runSweep',
    summary: 'Run a sweep now',
    description: 'Enqueues the sweep through the same path as its cron; a worker runs it.',
  })
  @ApiParam({ name: 'name', enum: SWEEP_NAMES })
  @ApiAcceptedResponse({ type: SweepRunResponse, description: 'Enqueued through the same path as the cron' })
  @ApiProblems(400, 401, 403, 503)
  async runSweep(@Param('name') name: string, @CurrentActor() actor: Actor): Promise<SweepRunResponse> {
    if (!(SWEEP_NAMES as readonly string[]).includes(name)) {
      throw new ValidationError([{ field: 'name', message: `must be one of ${SWEEP_NAMES.join(', ')}` }]);
    }
    const sweepId = await this.sweeps.trigger(name as SweepName, actor);
    return { name: name as SweepName, sweepId };
  }

  @Get('queues')
  @ApiOperation({ operationId: 'listQueues', summary: 'Job counts of every queue' })
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
