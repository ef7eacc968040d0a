import { parsePhoneNumberFromString } from 'libphonenumber-js';

/** E.164 (`+15125550100`), or null when the number is not a valid phone number. US is assumed without a country code. */
export function toE164(phone: string, defaultCountry: 'US' = 'US'): string | null {
  const parsed = parsePhoneNumberFromString(phone.trim(), defaultCountry);
  return parsed?.isValid() ? parsed.number : null;
}

export const US_STATES = new Set(
  (
    'AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA ' +
    'RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP'
  ).split(' '),
);

export const ZIP_PATTERN = /^\d{5}(-\d{4})?$/;

/** Trims, collapses inner whitespace; empty becomes null. */
export function cleanText(value: string | null | undefined): string | null {
  const cleaned = value?.replace(/\s+/g, ' ').trim();
  return cleaned ? cleaned : null;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** First five digits of a US ZIP or ZIP+4: the unit of service areas. */
export const zip5 = (zip: string) => zip.slice(0, 5);
