import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';

export class ProblemFieldError {
  @ApiProperty({ example: 'address.zip', description: 'The field, as a path into the body, query or headers' })
  field: string;
  @ApiProperty({ example: 'must be a US ZIP or ZIP+4' }) message: string;
}

export class Problem {
  @ApiProperty({ format: 'uri', example: 'https://tradeengage.dev/problems/bad-request' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 }) status: number;
  @ApiProperty({ example: 'The request has invalid fields' }) detail: string;
  @ApiProperty({ example: 'a3c2e1f0-5b7d-4c1e-9f3a-2b8d7e6c5a41', description: 'The `X-Request-Id` of the response' })
  requestId: string;
  @ApiPropertyOptional({ type: [ProblemFieldError], description: 'Every bad field at once (400, 422)' })
  errors?: ProblemFieldError[];
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
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
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
  431: 'The request line and headers are larger than 16 kB',
  500: 'A fault of the service, never of the request; retry later (the `requestId` finds it in the logs)',
  502: 'The provider did not answer',
  503: 'A dependency the request needs (Redis, a provider configuration) is unavailable; retry later',
};

/** The problem+json response of one status, as the filter renders it (also added to every operation for 431). */
export function problemResponse(status: number) {
  return {
    description: DESCRIPTIONS[status],
    content: {
      'application/problem+json': {
        schema: { $ref: getSchemaPath(Problem) },
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
  };
}

/** Documents the problem+json error responses of a public operation (no API key, so no 401, 403 or 429). */
export function ApiPublicProblems(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(Problem),
    ...statuses.map((status) => ApiResponse({ status, ...problemResponse(status) })),
  );
}

/** Documents the problem+json error responses of an operation (429 applies to every authenticated route). */
export function ApiProblems(...statuses: number[]) {
  return ApiPublicProblems(...statuses, 429);
}

/** Documents a cursor page `{ items: T[], nextCursor }`. */
export function ApiPage(item: Type<unknown>) {
  return applyDecorators(
    ApiExtraModels(item),
    ApiResponse({
      status: 200,
      description: 'One page, newest first',
      schema: {
        type: 'object',
        required: ['items', 'nextCursor'],
        properties: {
          items: { type: 'array', items: { $ref: getSchemaPath(item) } },
          nextCursor: {
            type: 'string',
            nullable: true,
            description: 'The `cursor` of the next page; `null` on the last page',
          },
        },
      },
    }),
  );
}
