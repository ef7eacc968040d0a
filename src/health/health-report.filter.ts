import { ArgumentsHost, Catch, ExceptionFilter, ServiceUnavailableException } from '@nestjs/common';
import { Response } from 'express';

import { ProblemDetailsFilter } from '../common/problem-details.filter';

/**
 * Terminus signals an unhealthy component by throwing ServiceUnavailableException with its report. Probes and
 * operators get that report (Terminus format) with the 503, not a problem document that would drop it; any other
 * error of the health endpoints is a problem document as everywhere else.
 */
@Catch(ServiceUnavailableException)
export class HealthReportFilter implements ExceptionFilter {
  private readonly problems = new ProblemDetailsFilter();

  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    const report = exception.getResponse();
    const response = host.switchToHttp().getResponse<Response>();
    if (
      typeof report !== 'object' ||
      report === null ||
      (report as { status?: unknown }).status !== 'error' ||
      response.headersSent
    ) {
      return this.problems.catch(exception, host);
    }
    response.status(exception.getStatus()).json(report);
  }
}
