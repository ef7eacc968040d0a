import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';

import { Actor, CurrentActor } from '../audit/actor';
import { Caller, CurrentCaller, Roles } from '../auth/caller';
import { NotFoundError } from '../common/errors';
import { ApiPage, ApiProblems } from '../common/openapi';
import { PageQuery } from '../common/page-query';
import { Page } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { CompaniesService, toCompanyResponse } from './companies.service';
import { CompanyResponse, CreateCompanyDto, UpdateCompanyDto } from './dto/company.dto';
import { CreateTechnicianDto, TechnicianResponse, UpdateTechnicianDto } from './dto/technician.dto';
import { Technician } from './technician.entity';

const uuid = new UuidPipe();
const ID = { name: 'id', format: 'uuid' } as const;

/** A company key sees its own company only; another company is reported absent, so ids do not leak. */
function ownCompanyOnly(caller: Caller, id: string): void {
  if (caller.role === 'company' && caller.companyId !== id) throw new NotFoundError('Company', id);
}

@ApiTags('companies')
@ApiBearerAuth()
@Roles('admin')
@Controller()
export class CompaniesController {
  constructor(private readonly companies: CompaniesService) {}

  @Post('companies')
  @ApiOperation({
    operationId: 'createCompany',
    summary: 'Create a company',
    description:
      'A trade company of the network. With `provider`, it can receive referrals: its credentials are checked for ' +
      'shape (every bad field at once), stored encrypted and never returned.',
  })
  @ApiCreatedResponse({ type: CompanyResponse })
  @ApiProblems(400, 401, 403, 413, 415)
  async create(@Body() dto: CreateCompanyDto, @CurrentActor() actor: Actor): Promise<CompanyResponse> {
    return toCompanyResponse(await this.companies.create(dto, actor));
  }

  @Get('companies')
  @ApiOperation({ operationId: 'listCompanies', summary: 'List companies', description: 'Newest first.' })
  @ApiPage(CompanyResponse)
  @ApiProblems(400, 401, 403)
  async list(@Query() query: PageQuery): Promise<Page<CompanyResponse>> {
    const page = await this.companies.list(query);
    return { items: page.items.map(toCompanyResponse), nextCursor: page.nextCursor };
  }

  @Get('companies/:id')
  @Roles('admin', 'company')
  @ApiOperation({
    operationId: 'getCompany',
    summary: 'Read a company',
    description: 'A company key may read its own company (another company is a 404).',
  })
  @ApiParam(ID)
  @ApiOkResponse({ type: CompanyResponse })
  @ApiProblems(400, 401, 404)
  async get(@CurrentCaller() caller: Caller, @Param('id', uuid) id: string): Promise<CompanyResponse> {
    ownCompanyOnly(caller, id);
    return toCompanyResponse(await this.companies.get(id));
  }

  @Patch('companies/:id')
  @ApiOperation({
    operationId: 'updateCompany',
    summary: 'Update a company',
    description: 'Only the fields sent change; `provider: null` disconnects its provider.',
  })
  @ApiParam(ID)
  @ApiOkResponse({ type: CompanyResponse })
  @ApiProblems(400, 401, 403, 404, 413, 415)
  async update(
    @Param('id', uuid) id: string,
    @Body() dto: UpdateCompanyDto,
    @CurrentActor() actor: Actor,
  ): Promise<CompanyResponse> {
    return toCompanyResponse(await this.companies.update(id, dto, actor));
  }

  @Post('companies/:id/technicians')
  @ApiOperation({ operationId: 'createTechnician', summary: "Add a technician to a company's team" })
  @ApiParam(ID)
  @ApiCreatedResponse({ type: TechnicianResponse })
  @ApiProblems(400, 401, 403, 404, 413, 415)
  addTechnician(
    @Param('id', uuid) id: string,
    @Body() dto: CreateTechnicianDto,
    @CurrentActor() actor: Actor,
  ): Promise<Technician> {
    return this.companies.addTechnician(id, dto, actor);
  }

  @Get('companies/:id/technicians')
  @Roles('admin', 'company')
  @ApiOperation({
    operationId: 'listTechnicians',
    summary: "List a company's technicians",
    description:
      'Newest first. A company key may list its own technicians (another company is a 404): the `technicianId` ' +
      'its referrals need.',
  })
  @ApiParam(ID)
  @ApiPage(TechnicianResponse)
  @ApiProblems(400, 401, 404)
  listTechnicians(
    @CurrentCaller() caller: Caller,
    @Param('id', uuid) id: string,
    @Query() query: PageQuery,
  ): Promise<Page<Technician>> {
    ownCompanyOnly(caller, id);
    return this.companies.listTechnicians(id, query);
  }

  @Patch('technicians/:id')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'updateTechnician',
    summary: 'Update a technician',
    description: '`isActive: false` keeps the technician on past jobs but refuses new referrals by them.',
  })
  @ApiParam(ID)
  @ApiOkResponse({ type: TechnicianResponse })
  @ApiProblems(400, 401, 403, 404, 413, 415)
  updateTechnician(
    @Param('id', uuid) id: string,
    @Body() dto: UpdateTechnicianDto,
    @CurrentActor() actor: Actor,
  ): Promise<Technician> {
    return this.companies.updateTechnician(id, dto, actor);
  }
}
