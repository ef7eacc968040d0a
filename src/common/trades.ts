import {
  Validate,
  ValidationArguments,
  ValidationOptions,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';

import { DEFAULT_TRADES } from '../config/env';
import { validationContextOf } from './validation';

/** Accepts only the app's trades (`TRADES`, handed over by its validation pipe); the default taxonomy elsewhere. */
@ValidatorConstraint({ name: 'isTrade' })
export class TradeConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return typeof value === 'string' && tradesFor(args).includes(value);
  }

  defaultMessage(args: ValidationArguments): string {
    const each = Array.isArray((args.object as Record<string, unknown>)[args.property]);
    return `${each ? 'each value ' : ''}must be one of the trades: ${tradesFor(args).join(', ')}`;
  }
}

function tradesFor(args: ValidationArguments): readonly string[] {
  return validationContextOf(args.object)?.trades ?? DEFAULT_TRADES;
}

/** A trade of the taxonomy; with `{ each: true }`, every value of an array. */
export const IsTrade = (options?: ValidationOptions) => Validate(TradeConstraint, options);
