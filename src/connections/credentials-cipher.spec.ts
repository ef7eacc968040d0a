import { randomBytes } from 'node:crypto';

import { AppConfig } from '../config/app-config';
import { CredentialsCipher } from './credentials-cipher';

const cipherWith = (key: Buffer) => new CredentialsCipher({ credentialsKey: key } as AppConfig);

describe('CredentialsCipher', () => {
  const key = randomBytes(32);
  const secret = { clientId: 'cid', clientSecret: 'very-secret-value' };

  it('round-trips and never stores the clear text', () => {
    const sealed = cipherWith(key).encrypt(secret);
    expect(sealed).not.toContain('very-secret-value');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(cipherWith(key).decrypt(sealed)).toEqual(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(cipherWith(key).encrypt(secret)).not.toBe(cipherWith(key).encrypt(secret));
  });

  it('rejects a wrong key and tampered ciphertext', () => {
    const sealed = cipherWith(key).encrypt(secret);
    expect(() => cipherWith(randomBytes(32)).decrypt(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => cipherWith(key).decrypt(parts.join('.'))).toThrow();
  });
});
