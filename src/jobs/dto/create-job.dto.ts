import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsEmail,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

import { US_STATES, ZIP_PATTERN } from '../../common/contact';
import { IsTrade } from '../../common/trades';
import { HasPhoneOrEmail, IsPhone } from '../../common/validation';
import { DEFAULT_TRADES } from '../../config/env';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const upperTrim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value);
// UUIDs compare as text in code (routing targets, ownership checks): one spelling, lower case.
const lowerUuid = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value.toLowerCase()
    : Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v.toLowerCase() : v))
      : value;

export class HomeownerDto {
  @ApiProperty({ example: 'Jane', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  firstName: string;

  @ApiProperty({ example: 'Doe', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  lastName: string;

  @ApiPropertyOptional({
    example: '(512) 555-0147',
    maxLength: 40,
    description: 'A phone or an email is required; US numbers without a country code; normalized to E.164',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  @IsPhone()
  phone?: string;

  @ApiPropertyOptional({ example: 'jane.doe@example.com', format: 'email', maxLength: 254 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(254)
  @IsEmail()
  email?: string;
}

export class AddressDto {
  @ApiProperty({ example: '500 Congress Ave', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  street: string;

  @ApiPropertyOptional({ example: 'Apt 4', maxLength: 50 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(50)
  unit?: string;

  @ApiProperty({ example: 'Austin', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  city: string;

  @ApiProperty({ example: 'TX', enum: [...US_STATES], description: 'Two-letter US state code (any case)' })
  @Transform(upperTrim)
  @IsString()
  @IsIn([...US_STATES], { message: 'must be a two-letter US state code' })
  state: string;

  @ApiProperty({ example: '78701', pattern: ZIP_PATTERN.source, description: 'ZIP or ZIP+4' })
  @Transform(trim)
  @IsString()
  @Matches(ZIP_PATTERN, { message: 'must be a US ZIP or ZIP+4' })
  zip: string;

  @ApiPropertyOptional({ example: 'US', default: 'US', enum: ['US', 'USA'], description: 'Only US addresses' })
  @IsOptional()
  @Transform(upperTrim)
  @IsIn(['US', 'USA'], { message: 'only US addresses are supported' })
  country?: string;
}

export class CreateJobDto {
  @ApiProperty({ format: 'uuid', description: 'The referring company' })
  @Transform(lowerUuid)
  @IsUUID()
  companyId: string;

  @ApiProperty({ format: 'uuid', description: 'A technician of the referring company' })
  @Transform(lowerUuid)
  @IsUUID()
  technicianId: string;

  @ApiProperty({ type: HomeownerDto })
  @IsDefined()
  @IsObject()
  @HasPhoneOrEmail()
  @ValidateNested()
  @Type(() => HomeownerDto)
  homeowner: HomeownerDto;

  @ApiProperty({ type: AddressDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => AddressDto)
  address: AddressDto;

  @ApiProperty({ example: 'Breaker trips when the dryer runs; panel looks old.', minLength: 1, maxLength: 2000 })
  @Transform(trim)
  @IsString()
  @Length(1, 2000)
  summary: string;

  @ApiPropertyOptional({
    enum: DEFAULT_TRADES,
    enumName: 'Trade',
    description:
      'The trade the homeowner needs (any case): one of the configured trades (`TRADES`). Without a trade, only ' +
      'companies that take every trade receive the job.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsString()
  @IsTrade()
  trade?: string;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', format: 'uuid' },
    maxItems: 50,
    uniqueItems: true,
    description: 'Send to exactly these companies instead of the routing rules',
  })
  @IsOptional()
  @Transform(lowerUuid)
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  targetCompanyIds?: string[];
}
