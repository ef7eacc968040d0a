import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { Actor, CurrentActor } from '../audit/actor';
import { ApiPage, ApiProblems } from '../common/openapi';
import { PageQuery } from '../common/page-query';
import { Page } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { ApiKey } from './api-key.entity';
import { ApiKeyResponse, CreateApiKeyDto, CreatedApiKeyResponse } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';
import { Roles } from './caller';

@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('admin')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key',
    description: 'The key itself is in the response only (`key`); it is stored hashed.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiProblems(400, 401, 403, 413, 415, 422)
  create(@Body() dto: CreateApiKeyDto, @CurrentActor() actor: Actor): Promise<CreatedApiKeyResponse> {
    return this.apiKeys.create(dto, actor);
  }

  @Get()
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: 'List API keys',
    description: 'Newest first, revoked ones too.',
  })
  @ApiPage(ApiKeyResponse)
  @ApiProblems(400, 401, 403)
  list(@Query() query: PageQuery): Promise<Page<ApiKey>> {
    return this.apiKeys.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Revoked; the key stops working at once' })
  @ApiProblems(400, 401, 403, 404)
  async revoke(@Param('id', new UuidPipe()) id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.apiKeys.revoke(id, actor);
  }
}
