import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';

import { IsOptionalNonNull, IsPhone } from '../../common/validation';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateTechnicianDto {
  @ApiProperty({ example: 'Pat', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  firstName: string;

  @ApiProperty({ example: 'Plumber', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  lastName: string;

  @ApiPropertyOptional({ example: 'pat@acme-plumbing.example', format: 'email', maxLength: 254 })
  @IsOptional()
  @Transform(trim)
  @IsEmail()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: '(512) 555-0147', maxLength: 40, description: 'Normalized to E.164' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  @IsPhone()
  phone?: string;
}

export class UpdateTechnicianDto {
  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsBoolean()
  isActive?: boolean;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptionalNonNull()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  firstName?: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptionalNonNull()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  lastName?: string;
}

export class TechnicianResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) companyId: string;
  @ApiProperty({ example: 'Pat' }) firstName: string;
  @ApiProperty({ example: 'Plumber' }) lastName: string;
  @ApiProperty({ nullable: true, type: String, format: 'email', example: 'pat@acme-plumbing.example' })
  email: string | null;
  @ApiProperty({ nullable: true, type: String, example: '+15125550147', description: 'E.164' }) phone: string | null;
  @ApiProperty({ example: true }) isActive: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}
