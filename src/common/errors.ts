import { HttpStatus } from '@nestjs/common';

export interface FieldError {
  field: string;
  message: string;
}

/** A failure the client can act on; the problem-details filter renders it (with `headers`, if any). */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(HttpStatus.NOT_FOUND, 'Not Found', `${what} ${id} was not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(HttpStatus.CONFLICT, 'Conflict', message);
  }
}

/** A reference that does not exist or is not allowed (SPEC: 422). */
export class UnprocessableError extends DomainError {
  constructor(message: string, errors?: FieldError[]) {
    super(HttpStatus.UNPROCESSABLE_ENTITY, 'Unprocessable Entity', message, errors);
  }
}

export class ValidationError extends DomainError {
  constructor(errors: FieldError[]) {
    super(HttpStatus.BAD_REQUEST, 'Bad Request', 'The request has invalid fields', errors);
  }
}

/** A body that is not JSON (another Content-Type, or none where a body is required). */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(message = 'The request body must be JSON, sent with Content-Type: application/json') {
    super(HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Media Type', message);
  }
}

export const BEARER_CHALLENGE = 'Bearer realm="TradeEngage API"';

export class UnauthorizedError extends DomainError {
  /** `challenge` is the WWW-Authenticate header (RFC 9110): how to authenticate. */
  constructor(message = 'A valid API key is required', challenge = BEARER_CHALLENGE) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', message, undefined, { 'WWW-Authenticate': challenge });
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'This API key may not do that') {
    super(HttpStatus.FORBIDDEN, 'Forbidden', message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(retryAfterSeconds: number, message = 'The API key has exceeded its request rate') {
    super(HttpStatus.TOO_MANY_REQUESTS, 'Too Many Requests', message, undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

/** A dependency the request needs (Redis, the database, a provider's configuration) is not available; retry later. */
export class ServiceUnavailableError extends DomainError {
  constructor(message: string) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', message);
  }
}
