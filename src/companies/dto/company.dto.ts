import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsNotEmptyObject,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import { IsTrade } from '../../common/trades';
import { IsOptionalNonNull } from '../../common/validation';
import { CONNECTION_STATUSES, ConnectionStatus } from '../../connections/connection.entity';
import { DEFAULT_TRADES } from '../../config/env';
import { ProviderType } from '../../providers/field-service-provider';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lowerTrimEach = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v)) : value;

/** The provider types and credential shapes come from the provider catalog (see describeProviders). */
export class ProviderConfigDto {
  @ApiProperty({ example: 'servicetitan', description: 'A provider that takes pasted credentials' })
  @IsString()
  @Length(1, 50)
  type: ProviderType;

  @ApiProperty({
    description:
      'ServiceTitan: `{ tenantId, clientId, clientSecret, bookingProviderId }`; Housecall Pro: `{ apiKey }`. Stored encrypted, never returned.',
    example: { tenantId: '1234567', clientId: 'cid.abc', clientSecret: 'cs2.secret', bookingProviderId: '42' },
  })
  @IsObject()
  @IsNotEmptyObject()
  credentials: Record<string, unknown>;
}

export class CreateCompanyDto {
  @ApiProperty({ example: 'Sparky Electric', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({
    enum: DEFAULT_TRADES,
    enumName: 'Trade',
    isArray: true,
    example: ['electrical'],
    description: 'The trades it takes (any case), from the configured taxonomy (`TRADES`); empty: every trade',
  })
  @IsOptional()
  @Transform(lowerTrimEach)
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @IsTrade({ each: true })
  trades?: string[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: '^\\d{5}$' },
    maxItems: 2000,
    example: ['78701', '78702'],
    description: 'Five-digit ZIPs; empty: serves everywhere',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2000)
  @IsString({ each: true })
  @Matches(/^\d{5}$/, { each: true, message: 'each value must be a five-digit ZIP' })
  serviceAreaZips?: string[];

  @ApiPropertyOptional({ type: ProviderConfigDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ProviderConfigDto)
  provider?: ProviderConfigDto;
}

export class UpdateCompanyDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptionalNonNull()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({
    enum: DEFAULT_TRADES,
    enumName: 'Trade',
    isArray: true,
    description: 'Replaces the list; empty: every trade',
  })
  @IsOptionalNonNull()
  @Transform(lowerTrimEach)
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @IsTrade({ each: true })
  trades?: string[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: '^\\d{5}$' },
    maxItems: 2000,
    description: 'Replaces the list; empty: serves everywhere',
  })
  @IsOptionalNonNull()
  @IsArray()
  @ArrayMaxSize(2000)
  @IsString({ each: true })
  @Matches(/^\d{5}$/, { each: true, message: 'each value must be a five-digit ZIP' })
  serviceAreaZips?: string[];

  @ApiPropertyOptional({ type: ProviderConfigDto, nullable: true, description: '`null` removes the provider' })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsObject()
  @ValidateNested()
  @Type(() => ProviderConfigDto)
  provider?: ProviderConfigDto | null;
}

/** The company's current connection (SPEC section 9). */
export class ProviderSummary {
  @ApiProperty({ type: String, example: 'servicetitan' }) type: ProviderType;
  @ApiProperty({ example: true }) configured: boolean;
  @ApiProperty({ format: 'uuid' }) connectionId: string;
  @ApiProperty({
    enum: CONNECTION_STATUSES,
    description: '`invalid` once the provider refused this connection for good',
  })
  status: ConnectionStatus;
}

export class CompanyResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Sparky Electric' }) name: string;
  @ApiProperty({ example: true }) isActive: boolean;
  @ApiProperty({ type: [String], example: ['electrical'], description: 'Trades it takes; empty: every trade' })
  trades: string[];
  @ApiProperty({ type: [String], example: ['78701'], description: 'ZIPs it serves; empty: everywhere' })
  serviceAreaZips: string[];
  @ApiProperty({ type: ProviderSummary, nullable: true }) provider: ProviderSummary | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}
