import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
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
  @ApiOperation({
    operationId: 'createJob',
    summary: 'Create a referral job',
    description:
      'Routes the referral to `targetCompanyIds`, or by the routing rules: every active company with a provider, ' +
      "other than the referrer, that takes the job's `trade` and serves its ZIP. Answers with one `pending` routing " +
      'per receiving company (each then synced to its provider), or `unrouted` with an `unroutedReason`. A company ' +
      'key creates jobs for its own company only. With `Idempotency-Key`, the same key and body within 24 h replay ' +
      'the first response (`Idempotent-Replayed: true`); another body with that key is a 422, a concurrent one a 409.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 visible ASCII characters; replays for 24 h',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', example: 'ref-0001' },
  })
  @ApiCreatedResponse({
    type: JobResponse,
    description: 'Created (or a replay of the first response to this `Idempotency-Key`)',
    headers: {
      'Idempotent-Replayed': {
        description: '`true` when this is the stored response of an earlier request with the same `Idempotency-Key`',
        required: false,
        schema: { type: 'string', enum: ['true'] },
      },
    },
  })
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
  @ApiOperation({
    operationId: 'listJobs',
    summary: 'List jobs',
    description: 'Newest first, with their routings. A company key lists its own jobs only.',
  })
  @ApiPage(JobResponse)
  @ApiProblems(400, 401, 403)
  list(@CurrentCaller() caller: Caller, @Query() query: ListJobsQuery): Promise<Page<JobResponse>> {
    return this.jobs.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getJob',
    summary: 'Read a job',
    description: "With its routings. A company key reads its own jobs (another company's job is a 404).",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: JobResponse })
  @ApiProblems(400, 401, 404)
  get(@CurrentCaller() caller: Caller, @Param('id', new UuidPipe()) id: string): Promise<JobResponse> {
    return this.jobs.get(caller, id);
  }
}
