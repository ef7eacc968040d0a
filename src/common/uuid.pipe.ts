import { Injectable, PipeTransform } from '@nestjs/common';

import { ValidationError } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Route ids must be UUIDs; anything else is a 400 naming the parameter. */
@Injectable()
export class UuidPipe implements PipeTransform<string, string> {
  constructor(private readonly field = 'id') {}
  transform(value: string): string {
    if (!UUID.test(value)) throw new ValidationError([{ field: this.field, message: 'must be a UUID' }]);
    return value.toLowerCase();
  }
}
