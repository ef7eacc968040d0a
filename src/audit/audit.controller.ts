import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Roles } from '../auth/caller';
import { ApiPage, ApiProblems } from '../common/openapi';
import { Page } from '../common/pagination';
import { AuditService } from './audit.service';
import { AuditChangeSchema, AuditEventResponse } from './dto/audit-event.response';
import { ListAuditEventsQuery } from './dto/list-audit-events.query';

@ApiTags('audit')
@ApiBearerAuth()
@ApiExtraModels(AuditChangeSchema)
@Roles('admin')
@Controller('audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'The audit trail: who changed what (admin)',
    description:
      'Every change made through the API (and the changes the service makes by itself, with actor role `system`), ' +
      'recorded in the same transaction as the change. Newest first; filters combine. Kept at least ' +
      'AUDIT_RETENTION_DAYS (default 400); job archiving never removes them.',
  })
  @ApiPage(AuditEventResponse)
  @ApiProblems(400, 401, 403)
  list(@Query() query: ListAuditEventsQuery): Promise<Page<AuditEventResponse>> {
    return this.audit.list(query);
  }
}
