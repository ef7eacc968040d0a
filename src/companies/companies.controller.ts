import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { Actor, CurrentActor } from '../audit/actor';
import { Roles } from '../auth/caller';
import { ApiProblems, ApiPage } from '../common/openapi';
import { Page, PageQuery } from '../common/pagination';
import { UuidPipe } from '../common/uuid.pipe';
import { CompaniesService, toCompanyResponse } from './companies.service';
import { CompanyResponse, CreateCompanyDto, UpdateCompanyDto } from './dto/company.dto';
import { CreateTechnicianDto, TechnicianResponse, UpdateTechnicianDto } from './dto/technician.dto';
import { Technician } from './technician.entity';

const uuid = new UuidPipe();

@ApiTags('companies')
@ApiBearerAuth()
@Roles('admin')
@Controller()
export class CompaniesController {
  constructor(private readonly companies: CompaniesService) {}

  @Post('companies')
  @ApiCreatedResponse({ type: CompanyResponse })
  @ApiProblems(400, 401, 403, 413, 415)
  async create(@Body() dto: CreateCompanyDto, @CurrentActor() actor: Actor): Promise<CompanyResponse> {
    return toCompanyResponse(await this.companies.create(dto, actor));
  }

  @Get('companies')
  @ApiPage(CompanyResponse)
  @ApiProblems(400, 401, 403)
  async list(@Query() query: PageQuery): Promise<Page<CompanyResponse>> {
    const page = await this.companies.list(query);
    return { items: page.items.map(toCompanyResponse), nextCursor: page.nextCursor };
  }

  @Get('companies/:id')
  @ApiOkResponse({ type: CompanyResponse })
  @ApiProblems(400, 401, 403, 404)
  async get(@Param('id', uuid) id: string): Promise<CompanyResponse> {
    return toCompanyResponse(await this.companies.get(id));
  }

  @Patch('companies/:id')
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
  @ApiPage(TechnicianResponse)
  @ApiProblems(400, 401, 403, 404)
  listTechnicians(@Param('id', uuid) id: string, @Query() query: PageQuery): Promise<Page<Technician>> {
    return this.companies.listTechnicians(id, query);
  }

  @Patch('technicians/:id')
  @HttpCode(200)
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
