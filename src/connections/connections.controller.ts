import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';

import { Roles } from '../auth/caller';
import { CompaniesService } from '../companies/companies.service';
import { ApiPage, ApiProblems } from '../common/openapi';
import { PageQuery } from '../common/page-query';
import { Page } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { ConnectionsService } from './connections.service';
import { ConnectionResponse } from './dto/connection.response';

@ApiTags('companies')
@ApiBearerAuth()
@Roles('admin')
@Controller()
export class ConnectionsController {
  constructor(
    private readonly companies: CompaniesService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get('companies/:id/connections')
  @ApiOperation({
    operationId: 'listConnections',
    summary: "List a company's provider connections",
    description:
      'Newest first: the active one, and those that still serve routings synced through them (`disabled`) or that ' +
      'the provider refused (`invalid`, with `statusReason`). `webhookUrl` is the URL to give the provider.',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The company' })
  @ApiPage(ConnectionResponse)
  @ApiProblems(400, 401, 403, 404)
  async list(@Param('id', new UuidPipe()) id: string, @Query() query: PageQuery): Promise<Page<ConnectionResponse>> {
    await this.companies.get(id);
    return this.connections.list(id, query);
  }
}
