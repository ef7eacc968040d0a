import { cleanText, normalizeEmail, toE164, zip5 } from './contact';

describe('toE164', () => {
  it.each([
    ['(512) 555-0147', '+15125550147'],
    ['512.555.0147', '+15125550147'],
    ['+1 512 555 0147', '+15125550147'],
    ['1-512-555-0147', '+15125550147'],
    ['  5125550147 ', '+15125550147'],
    ['+44 20 7946 0958', '+442079460958'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(toE164(input)).toBe(expected);
  });

  it.each(['123', 'not a phone', '', '555-0147', '+1 000 000 0000'])('rejects %p', (input) => {
    expect(toE164(input)).toBeNull();
  });
});

describe('address and text helpers', () => {
  it('cleans whitespace and empties', () => {
    expect(cleanText('  12  Main\tSt ')).toBe('12 Main St');
    expect(cleanText('   ')).toBeNull();
    expect(cleanText(undefined)).toBeNull();
  });
  it('normalizes emails and zips', () => {
    expect(normalizeEmail(' Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
    expect(zip5('78701-1234')).toBe('78701');
    expect(zip5('78701')).toBe('78701');
  });
});
