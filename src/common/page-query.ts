import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

// The query DTO of a page, apart from the keyset helpers in ./pagination: the services (which the worker loads too)
// use those, only the API's controllers and DTOs need this class and its validation and OpenAPI decorators.

/** Query text of digits (optionally signed) becomes a number; anything else stays text, which `IsInt` refuses. */
export const toInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^[-+]?\d{1,15}$/.test(value.trim()) ? Number(value) : value;

export class PageQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'Items per page' })
  @IsOptional()
  @Transform(toInteger)
  // Checked bottom-up: "abc" is "must be an integer", not out of range.
  @Max(200)
  @Min(1)
  @IsInt({ message: 'must be an integer' })
  limit: number = 50;

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page (`nextCursor`)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
