import { ValidationError as ClassValidatorError, ValidationPipe } from '@nestjs/common';

import { FieldError, ValidationError } from './errors';

/** Flattens class-validator's tree into `{ field: "address.zip", message }` entries. */
export function fieldErrors(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: message.replace(/^[\w.[\]]+ /, ''), // class-validator prefixes the property name
    }));
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: true,
  exceptionFactory: (errors) => new ValidationError(fieldErrors(errors)),
});
