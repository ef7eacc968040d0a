import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { Response } from 'express';

import { Public } from '../auth/caller';
import { ApiPublicProblems } from '../common/openapi';
import { StateGauges } from './state-gauges';

@ApiTags('metrics')
@Public()
@Controller()
export class MetricsController extends PrometheusController {
  constructor(private readonly stateGauges: StateGauges) {
    super();
  }

  @Get()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: 'Prometheus text exposition 0.0.4, in every mode (README "Metrics" lists the series).',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The metrics',
    content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
  })
  @ApiPublicProblems()
  async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    await this.stateGauges.refresh();
    return super.index(response);
  }
}
