import {
  ArgumentMetadata,
  ValidationError as ClassValidatorError,
  Injectable,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { ValidateIf } from 'class-validator';

import { FieldError, UnsupportedMediaTypeError, ValidationError } from './errors';

/** Flattens class-validator's tree into `{ field: "address.zip", message }` entries. */
export function fieldErrors(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: withoutProperty(message, error.property),
    }));
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/**
 * class-validator's own messages start with the property name ("zip must be a string"), Nest's whitelist ones with
 * "property zip"; `field` already names it. Our `{ message }`s ("must be a US ZIP") and `each` messages are kept whole.
 */
function withoutProperty(message: string, property: string): string {
  for (const prefix of [`${property} `, `property ${property} `]) {
    if (message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return message;
}

/**
 * Optional, but not nullable: absent skips validation, `null` is validated (and fails) like any other value.
 * For PATCH fields whose column cannot be null (`@IsOptional()` would let `null` through to the database).
 */
export const IsOptionalNonNull = () => ValidateIf((_, value) => value !== undefined);

// Our bodies are at most 3 levels deep (provider.credentials.x); anything far deeper is an attack on the stack.
const MAX_DEPTH = 8;
// Keys class-transformer and plain objects treat specially; Nest strips them silently, we refuse them.
const PROTO_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// C0 controls other than tab, LF and CR (PostgreSQL refuses NUL in text and jsonb), and DEL.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What class-validator cannot see, checked before class-transformer walks the input: nesting depth,
 * prototype keys, and text that is not storable text. Returns the first offending field.
 */
export function findUnsafeInput(value: unknown, path: string, depth = 0): FieldError | null {
  if (typeof value === 'string') {
    if (CONTROL_CHARS.test(value)) return { field: path, message: 'must not contain control characters' };
    if (LONE_SURROGATE.test(value)) return { field: path, message: 'must be valid Unicode text' };
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_DEPTH) return { field: path, message: 'is nested too deeply' };
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnsafeInput(item, `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const field = path ? `${path}.${key}` : key;
    if (PROTO_KEYS.has(key)) return { field, message: 'is not allowed' };
    const found = findUnsafeInput(key, field, depth + 1) ?? findUnsafeInput(item, field, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Nest's ValidationPipe, after checks on the shape of the whole body and query. */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if ((metadata.type === 'body' || metadata.type === 'query') && this.toValidate(metadata)) {
      // The JSON parser leaves the body undefined for any other media type (or none): refuse rather than
      // validate an empty object, which would make a PATCH sent as text/plain a silent no-op.
      if (metadata.type === 'body' && value === undefined) throw new UnsupportedMediaTypeError();
      if (metadata.type === 'body' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        throw new ValidationError([{ field: 'body', message: 'must be a JSON object' }]);
      }
      const unsafe = findUnsafeInput(value, '');
      if (unsafe) throw new ValidationError([unsafe]);
    }
    return super.transform(value, metadata);
  }
}

export const validationPipe = new RequestValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: true,
  exceptionFactory: (errors) => new ValidationError(fieldErrors(errors)),
});
