import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';

import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { DestinationStream, LogFn, Logger } from 'pino';

import { AppConfig } from '../config/app-config';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Secrets never reach a log line: these paths are censored wherever they appear. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["st-app-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.apiKey',
  '*.api_key',
  '*.clientSecret',
  '*.client_secret',
  '*.accessToken',
  '*.access_token',
  '*.token',
  '*.key',
  '*.credentials',
  '*.providerCredentials',
];

export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * One key, one value: a log call inside a context (a request's `requestId`, a queue job's `routingId`)
 * may name a field the context already binds, and pino would then write the key twice, which log
 * pipelines read differently (JSON.parse keeps the last). The context's value stays, the repeat goes.
 */
function dropBoundFields(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [first] = args as unknown[];
  if (first && typeof first === 'object' && !(first instanceof Error)) {
    const bound = this.bindings();
    const repeated = Object.keys(first).filter((key) => key in bound);
    if (repeated.length) {
      const fields = { ...(first as Record<string, unknown>) };
      for (const key of repeated) delete fields[key];
      (args as unknown[])[0] = fields;
    }
  }
  method.apply(this, args);
}

/** JSON logs (pino) with a request id on every line; `destination` lets tests capture the output. */
@Module({})
export class LoggingModule {
  static forRoot(destination?: DestinationStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => {
            const options = {
              level: config.logLevel,
              genReqId: requestIdOf,
              redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
              hooks: { logMethod: dropBoundFields },
              customProps: (req: IncomingMessage & { id?: unknown }) => ({ requestId: req.id }),
              autoLogging: { ignore: (req: IncomingMessage) => /^\/(metrics|api\/health)/.test(req.url ?? '') },
              // A 5xx answered on purpose (a 503 while Redis is down) gets a made-up Error from pino-http
              // whose stack trace says nothing; the status says it all.
              customErrorObject: (_req: unknown, _res: unknown, error: Error, fields: Record<string, unknown>) => {
                if (!error.message.startsWith('failed with status code')) return fields;
                const { err: _err, ...rest } = fields;
                return rest;
              },
              serializers: {
                req: (req: { id: unknown; method: string; url: string }) => ({
                  id: req.id,
                  method: req.method,
                  url: req.url,
                }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              },
            };
            // Nest 11 route syntax for "every path" (the library default '*' logs a deprecation warning).
            return {
              pinoHttp: destination ? [options, destination] : options,
              forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
            };
          },
        }),
      ],
    };
  }
}
