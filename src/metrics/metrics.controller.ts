import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { Response } from 'express';

import { Public } from '../auth/caller';
import { StateGauges } from './state-gauges';

/** Its OpenAPI description is in ./metrics.openapi (loaded by the API only). */
@Public()
@Controller()
export class MetricsController extends PrometheusController {
  constructor(private readonly stateGauges: StateGauges) {
    super();
  }

  @Get()
  async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    await this.stateGauges.refresh();
    return super.index(response);
  }
}
