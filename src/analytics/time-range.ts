import { FieldError, ValidationError } from '../common/errors';

export const MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;

// A date (UTC midnight) or a date-time with its offset: a time without one would depend on the server's zone.
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:\d{2}))?$/;
export const ISO_INSTANT_MESSAGE = 'must be an ISO 8601 date (YYYY-MM-DD) or date-time with a time zone';

/** Midnight UTC of a calendar day (month may overflow into the next year); years below 100 stay as they are. */
function utc(year: number, month: number, day: number): Date {
  const t = new Date(0);
  t.setUTCFullYear(year, month, day);
  return t;
}
/** Parses an ISO 8601 date or date-time strictly (no 30 February rolling over into March); null if it is not one. */
export function parseInstant(text: string): Date | null {
  const m = ISO_INSTANT.exec(text);
  if (!m) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? 0 : +v));
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const daysInMonth = utc(year, month, 0).getUTCDate();
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59)
    return null;
  let offsetMin = 0;
  if (m[8] && !/^z$/i.test(m[8])) {
    const [h, mm] = m[8].slice(1).split(':').map(Number);
    if (h > 23 || mm > 59) return null;
    offsetMin = (m[8][0] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  const at = utc(year, month - 1, day);
  at.setUTCHours(hour, minute, second, ms);
  return new Date(at.getTime() - offsetMin * 60_000);
}

export interface TimeRange {
  from: Date;
  to: Date;
}

/** `from`/`to` of an analytics request (SPEC section 13): both required, from < to, at most 400 days apart. */
export function parseRange(from: string | undefined, to: string | undefined): TimeRange {
  const errors: FieldError[] = [];
  const start = from === undefined ? null : parseInstant(from);
  const end = to === undefined ? null : parseInstant(to);
  if (from === undefined) errors.push({ field: 'from', message: 'is required' });
  else if (!start) errors.push({ field: 'from', message: ISO_INSTANT_MESSAGE });
  if (to === undefined) errors.push({ field: 'to', message: 'is required' });
  else if (!end) errors.push({ field: 'to', message: ISO_INSTANT_MESSAGE });
  if (start && end) {
    if (end <= start) errors.push({ field: 'to', message: 'must be after from' });
    else if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY_MS)
      errors.push({ field: 'to', message: `must be at most ${MAX_RANGE_DAYS} days after from` });
  }
  if (errors.length) throw new ValidationError(errors);
  return { from: start!, to: end! };
}

/** Where one stretch of a range is counted from: the per-routing facts, or day or month rollup rows. */
export interface Segment {
  source: 'facts' | 'day' | 'month';
  from: Date;
  to: Date;
}

const floorDay = (t: Date) => new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);
const ceilDay = (t: Date) => new Date(Math.ceil(t.getTime() / DAY_MS) * DAY_MS);
const floorMonth = (t: Date) => utc(t.getUTCFullYear(), t.getUTCMonth(), 1);
const ceilMonth = (t: Date) => {
  const floor = floorMonth(t);
  return floor.getTime() === t.getTime() ? floor : utc(t.getUTCFullYear(), t.getUTCMonth() + 1, 1);
};

/**
 * Splits [from, to) into the coarsest stretches the available rollup grains can answer exactly: whole months from
 * month rows, whole days from day rows, and what is left (part of a day, or part of a month without day rows)
 * from the per-routing facts. Every instant of the range is in exactly one segment.
 */
export function planSegments(range: TimeRange, grains: { day: boolean; month: boolean }): Segment[] {
  const days = (from: Date, to: Date): Segment[] => {
    const first = ceilDay(from);
    const last = floorDay(to);
    if (!grains.day || first >= last) return [{ source: 'facts', from, to }];
    return [
      { source: 'facts', from, to: first },
      { source: 'day', from: first, to: last },
      { source: 'facts', from: last, to },
    ];
  };
  const first = ceilMonth(range.from);
  const last = floorMonth(range.to);
  const segments =
    grains.month && first < last
      ? [...days(range.from, first), { source: 'month' as const, from: first, to: last }, ...days(last, range.to)]
      : days(range.from, range.to);
  return segments.filter((s) => s.from < s.to);
}
