import {
  ArgumentMetadata,
  ValidationError as ClassValidatorError,
  Injectable,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { ValidateBy, ValidateIf, ValidationOptions, ValidatorOptions } from 'class-validator';

import { cleanText, toE164 } from './contact';
import { FieldError, UnsupportedMediaTypeError, ValidationError } from './errors';

/**
 * Flattens class-validator's tree into `{ field: "address.zip", message }` entries: every bad field, with the first
 * failed check of each (the pipe runs them all, so a bad object does not hide the bad fields inside it).
 */
export function fieldErrors(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const [first] = Object.values(error.constraints ?? {});
    const own = first === undefined ? [] : [{ field, message: withoutProperty(first, error.property) }];
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

/** A phone number libphonenumber can read (US assumed without a country code); blank counts as absent. */
export const IsPhone = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isPhone',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !cleanText(value) || toE164(value) !== null,
        defaultMessage: () => 'must be a valid phone number',
      },
    },
    options,
  );

/** On an object property: the object has a non-blank `phone` or `email`. */
export const HasPhoneOrEmail = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'hasPhoneOrEmail',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'object' || value === null) return true; // IsObject reports it
          const { phone, email } = value as { phone?: unknown; email?: unknown };
          return [phone, email].some((v) => typeof v === 'string' && cleanText(v) !== null);
        },
        defaultMessage: () => 'needs a phone or an email',
      },
    },
    options,
  );

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

/** What validators may need of the app's configuration: each app's pipe hands its own to every DTO it validates. */
export interface ValidationContext {
  trades: readonly string[];
}

const CONTEXT = Symbol('validationContext');

/** The validation context of a DTO being validated (`args.object` in a constraint); absent outside the pipe. */
export function validationContextOf(dto: object): ValidationContext | undefined {
  return (dto as { [CONTEXT]?: ValidationContext })[CONTEXT];
}

/** Nest's ValidationPipe, after checks on the shape of the whole body and query. */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor(
    options: ValidationPipeOptions,
    private readonly context: ValidationContext,
  ) {
    super(options);
  }

  protected override validate(object: object, validatorOptions?: ValidatorOptions) {
    // Not enumerable: invisible to the whitelist, to JSON and to the controller's use of the DTO.
    Object.defineProperty(object, CONTEXT, { value: this.context });
    return super.validate(object, validatorOptions);
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

export const createValidationPipe = (context: ValidationContext) =>
  new RequestValidationPipe(
    {
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // Every check of every field runs (fieldErrors keeps the first failure per field): structural and semantic
      // errors of a body, and the bad fields inside a bad object, come back together in one response.
      stopAtFirstError: false,
      exceptionFactory: (errors) => new ValidationError(fieldErrors(errors)),
    },
    context,
  );
