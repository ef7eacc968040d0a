import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Request, Response, json } from 'express';
import { Observable, from, switchMap } from 'rxjs';

import { DomainError } from './errors';

export const MAX_BODY_BYTES = 256 * 1024;

const parseJson = json({ limit: MAX_BODY_BYTES });

/**
 * Reads JSON bodies after authentication. Nest runs guards after every middleware, so a body-parser
 * middleware would read and parse up to 256 kB for anyone, key or not; interceptors run after the
 * guards and before the handler's parameters are read. An unauthenticated body is never parsed (Node
 * discards it unread). Parse errors (bad JSON, too large) reach the problem-details filter.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    if (!hasBody(req)) {
      // What the parser does for a request without a body (most GETs), without a promise and an observable more.
      if (!('body' in req)) (req as { body?: unknown }).body = undefined;
      return next.handle();
    }
    const res = http.getResponse<Response>();
    const parsed = new Promise<void>((resolve, reject) =>
      parseJson(req, res, (error?: unknown) => {
        if (!error) return resolve();
        // The parser's own message quotes the start of the body: never echo it.
        reject(error instanceof SyntaxError ? notJson() : error);
      }),
    );
    return from(parsed).pipe(switchMap(() => next.handle()));
  }
}

/** The parser's own test (type-is hasBody): a body is announced by Transfer-Encoding or a Content-Length. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || !isNaN(Number(req.headers['content-length']));
}

function notJson(): DomainError {
  return new DomainError(400, 'Bad Request', 'The request body is not valid JSON', [
    { field: 'body', message: 'is not valid JSON' },
  ]);
}
