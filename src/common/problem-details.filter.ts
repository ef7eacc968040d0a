import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';

import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';

import { requestIdOf } from '../logging/logging.module';
import { DomainError, FieldError } from './errors';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId?: string;
  errors?: FieldError[];
}

// PostgreSQL errors that can only come from a value the client sent (a safety net behind validation).
const CLIENT_PG_ERRORS: Record<string, string> = {
  '22P02': 'A value has an invalid format',
  '22001': 'A value is too long',
  '22003': 'A number is out of range',
  '22007': 'A date has an invalid format',
  '22008': 'A date is out of range',
  '22021': 'A value contains a character that cannot be stored',
  '22P05': 'A value contains a character that cannot be stored',
};

// What body-parser's errors mean, by type (its messages quote the body, a header or a charset).
const BODY_PARSER_ERRORS: Record<string, string> = {
  'entity.too.large': 'The request body is too large',
  'charset.unsupported': 'The request body must be JSON in UTF-8',
  'encoding.unsupported': 'The Content-Encoding of the request body is not supported',
  'request.size.invalid': 'The request body is shorter or longer than its Content-Length',
  'request.aborted': 'The request body was not received in full',
};

/** The one global filter: every error leaves as application/problem+json (RFC 9457). */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    const problem = this.toProblem(exception);
    // Errors of the body parser or the router come before the logging middleware has given the request its id.
    problem.requestId = request.id
      ? String(request.id)
      : response.headersSent
        ? undefined
        : requestIdOf(request, response);
    // A DomainError of 5xx (a dependency is down) is expected and said where it happens; anything else is a bug.
    if (problem.status >= 500 && !(exception instanceof DomainError)) {
      this.logger.error({ err: exception, requestId: problem.requestId }, 'Unhandled error');
    }
    if (response.headersSent) return;
    if (exception instanceof DomainError) {
      for (const [name, value] of Object.entries(exception.headers ?? {})) response.setHeader(name, value);
    }
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown): ProblemDetails {
    if (exception instanceof DomainError) {
      return problem(exception.status, exception.title, exception.message, exception.errors);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest's own 400 for Express's URIError (a bad %-escape in the path) carries a message quoting the request.
      if (exception.constructor === BadRequestException)
        return problem(status, titleOf(status), 'The request is malformed');
      const body = exception.getResponse();
      const message =
        typeof body === 'object' && body && 'message' in body ? (body as { message: unknown }).message : body;
      // An exception made from an object without `message` has no detail of its own: never "[object Object]".
      const detail =
        typeof message === 'string' ? message : Array.isArray(message) ? message.join('; ') : titleOf(status);
      return problem(status, titleOf(status), detail);
    }
    // Errors raised by the HTTP layer before Nest sees the request (body-parser: bad JSON, too large).
    const raw = exception as { status?: number; statusCode?: number; type?: string; expose?: boolean };
    const rawStatus = raw?.status ?? raw?.statusCode;
    if (typeof rawStatus === 'number' && rawStatus >= 400 && rawStatus < 500) {
      // Never the parser's own message: it may quote the request.
      const detail = BODY_PARSER_ERRORS[raw.type ?? ''] ?? titleOf(rawStatus);
      return problem(rawStatus, titleOf(rawStatus), detail);
    }
    if (exception instanceof QueryFailedError) {
      const code = (exception.driverError as { code?: string } | undefined)?.code;
      if (code && CLIENT_PG_ERRORS[code]) return problem(400, 'Bad Request', CLIENT_PG_ERRORS[code]);
    }
    return problem(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal Server Error', 'An unexpected error occurred');
  }
}

// Requests Node's HTTP parser refuses itself, with the status Node would give them.
const PARSER_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'The request line and headers are larger than 16 kB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request was not received in time'],
};

/**
 * The HTTP server's `clientError` listener. A request Node's parser refuses (a request head over 16 kB, malformed
 * HTTP) never reaches Express or the filter above, and Node would answer a bare status line without a body or a
 * request id: answer a problem document instead, as for every other client mistake.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, detail] = PARSER_ERRORS[error.code ?? ''] ?? [HttpStatus.BAD_REQUEST, 'The request is not valid HTTP'];
  // The head was not parsed: the caller's X-Request-Id cannot be read, so the request gets a fresh id.
  const requestId = randomUUID();
  const title = STATUS_CODES[status] ?? titleOf(status);
  const body = JSON.stringify({ ...problem(status, title, detail), requestId });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function problem(status: number, title: string, detail: string, errors?: FieldError[]): ProblemDetails {
  const type = status >= 500 ? 'about:blank' : `https://tradeengage.dev/problems/${slug(title)}`;
  return { type, title, status, detail, ...(errors?.length ? { errors } : {}) };
}

function titleOf(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name
    ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, sep: string, c: string) => (sep ? ' ' : '') + c.toUpperCase())
    : 'Error';
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
