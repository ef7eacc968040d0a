import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';

import { Caller, CurrentCaller } from '../auth/caller';
import { ValidationError } from '../common/errors';
import { ApiPage, ApiProblems } from '../common/openapi';
import { Page } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { CreateJobDto } from './dto/create-job.dto';
import { JobResponse } from './dto/job.response';
import { ListJobsQuery } from './dto/list-jobs.query';
import { requestFingerprint } from './idempotency';
import { JobsService } from './jobs.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 visible ASCII characters; replays for 24 h',
  })
  @ApiCreatedResponse({ type: JobResponse, description: 'Created; a replay also sets `Idempotent-Replayed: true`' })
  @ApiProblems(400, 401, 403, 409, 413, 415, 422)
  async create(
    @CurrentCaller() caller: Caller,
    @Body() dto: CreateJobDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request & { id?: string },
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobResponse> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ValidationError([{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }]);
    }
    const result = await this.jobs.create(caller, dto, {
      idempotencyKey,
      fingerprint: requestFingerprint('POST', '/api/jobs', req.body),
      requestId: req.id ? String(req.id) : undefined,
    });
    res.status(result.status);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Get()
  @ApiPage(JobResponse)
  @ApiProblems(400, 401, 403)
  list(@CurrentCaller() caller: Caller, @Query() query: ListJobsQuery): Promise<Page<JobResponse>> {
    return this.jobs.list(caller, query);
  }

  @Get(':id')
  @ApiOkResponse({ type: JobResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', new UuidPipe()) id: string): Promise<JobResponse> {
    return this.jobs.get(caller, id);
  }
}
