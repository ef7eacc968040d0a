// Shape checks for stored provider credentials; errors name the field, never its value.

export function credentialsObject(credentials: unknown): Record<string, unknown> {
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
    throw new Error('credentials must be an object');
  }
  return credentials as Record<string, unknown>;
}

export function requiredString(source: Record<string, unknown>, field: string): string {
  const value = source[field];
  if (value === undefined || value === null || value === '') throw new Error(`credentials.${field} is required`);
  if (typeof value !== 'string') throw new Error(`credentials.${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed === '') throw new Error(`credentials.${field} is required`);
  return trimmed;
}

/** An integer id given as digits or as a non-negative safe integer; returned as a string. */
export function requiredIntegerString(source: Record<string, unknown>, field: string): string {
  const value = source[field];
  if (value === undefined || value === null || value === '') throw new Error(`credentials.${field} is required`);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`credentials.${field} must be an integer`);
    return String(value);
  }
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) {
    throw new Error(`credentials.${field} must be an integer string (digits only)`);
  }
  return value.trim();
}
