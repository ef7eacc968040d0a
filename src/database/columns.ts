import { ValueTransformer } from 'typeorm';

/** pg returns bigint as a string; our money values fit easily in a JS number. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null || value === undefined ? null : Number(value)),
};

// Millisecond precision so timestamps round-trip through JS Dates exactly (cursor pagination relies on it).
export const TIMESTAMP = { type: 'timestamptz', precision: 3 } as const;
