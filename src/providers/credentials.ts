// Shape checks for provider credentials; errors name the field, never its value.

export interface CredentialsFieldError {
  /** The credentials field (`tenantId`), or '' for the credentials as a whole. */
  field: string;
  message: string;
}

/** Every problem of one set of credentials at once, so a client fixes them in one round trip. */
export class InvalidCredentialsError extends Error {
  constructor(readonly errors: CredentialsFieldError[]) {
    super(errors.map((e) => `credentials${e.field ? `.${e.field}` : ''} ${e.message}`).join('; '));
  }
}

/** `string`: a non-blank string, trimmed. `integer`: an integer id given as digits or as a non-negative safe integer. */
export type CredentialsFieldKind = 'string' | 'integer';

/**
 * Reads the named fields as trimmed strings; other fields are ignored. Throws one InvalidCredentialsError naming
 * every missing or malformed field.
 */
export function readCredentials<K extends string>(
  credentials: unknown,
  fields: Record<K, CredentialsFieldKind>,
): Record<K, string> {
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
    throw new InvalidCredentialsError([{ field: '', message: 'must be an object' }]);
  }
  const source = credentials as Record<string, unknown>;
  const values = {} as Record<K, string>;
  const errors: CredentialsFieldError[] = [];
  for (const field of Object.keys(fields) as K[]) {
    const read = fields[field] === 'integer' ? integerString(source[field]) : nonBlankString(source[field]);
    if (read.ok) values[field] = read.value;
    else errors.push({ field, message: read.message });
  }
  if (errors.length) throw new InvalidCredentialsError(errors);
  return values;
}

type Read = { ok: true; value: string } | { ok: false; message: string };

function nonBlankString(value: unknown): Read {
  if (value === undefined || value === null) return { ok: false, message: 'is required' };
  if (typeof value !== 'string') return { ok: false, message: 'must be a string' };
  const trimmed = value.trim();
  return trimmed ? { ok: true, value: trimmed } : { ok: false, message: 'is required' };
}

function integerString(value: unknown): Read {
  if (value === undefined || value === null || value === '') return { ok: false, message: 'is required' };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? { ok: true, value: String(value) }
      : { ok: false, message: 'must be an integer' };
  }
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) {
    return { ok: false, message: 'must be an integer string (digits only)' };
  }
  return { ok: true, value: value.trim() };
}
