import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';

export class FieldErrorSchema {
  @ApiProperty({ example: 'address.zip' }) field: string;
  @ApiProperty({ example: 'must be a US ZIP or ZIP+4' }) message: string;
}

export class ProblemSchema {
  @ApiProperty({ example: 'https://tradeengage.dev/problems/bad-request' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'The request has invalid fields' }) detail: string;
  @ApiPropertyOptional({ example: 'a3c2e1f0-5b7d-4c1e-9f3a-2b8d7e6c5a41' }) requestId?: string;
  @ApiPropertyOptional({ type: [FieldErrorSchema] }) errors?: FieldErrorSchema[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed or invalid fields (each named in `errors`)',
  401: 'Missing, unknown or revoked API key',
  403: 'The API key lacks the needed role or company',
  404: 'Unknown id',
  409: 'Conflict with the current state',
  413: 'The request body is larger than 256 kB',
  415: 'The request body is not `application/json`',
  422: 'A reference that does not exist or is not allowed',
  429: 'Rate limit of the API key exceeded, or too many failed authentications from this address (see `Retry-After`)',
  503: 'Redis, which this operation needs, did not answer in time; retry later',
};

/** Documents the problem+json error responses of an operation (429 applies to every authenticated route). */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ProblemSchema),
    ...[...statuses, 429].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        content: {
          'application/problem+json': {
            schema: { $ref: getSchemaPath(ProblemSchema) },
            example: {
              type:
                status >= 500
                  ? 'about:blank'
                  : `https://tradeengage.dev/problems/${TITLES[status].toLowerCase().replace(/ /g, '-')}`,
              title: TITLES[status],
              status,
              detail: DESCRIPTIONS[status],
              requestId: 'a3c2e1f0-5b7d-4c1e-9f3a-2b8d7e6c5a41',
              ...(status === 400 || status === 422
                ? { errors: [{ field: 'address.zip', message: 'must be a US ZIP or ZIP+4' }] }
                : {}),
            },
          },
        },
      }),
    ),
  );
}

/** Documents a cursor page `{ items: T[], nextCursor }`. */
export function ApiPage(item: Type<unknown>) {
  return applyDecorators(
    ApiExtraModels(item),
    ApiResponse({
      status: 200,
      schema: {
        type: 'object',
        required: ['items', 'nextCursor'],
        properties: {
          items: { type: 'array', items: { $ref: getSchemaPath(item) } },
          nextCursor: { type: 'string', nullable: true },
        },
      },
    }),
  );
}
