import { checkWebhookHost, isPublicAddress } from './webhook-address';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.1.1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '64:ff9b::a00:1',
    'not-an-address',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('checkWebhookHost', () => {
  it('checks literal addresses without a lookup and resolves names', async () => {
    expect(await checkWebhookHost(new URL('http://[::1]:8080/x'))).toMatch(/private/);
    expect(await checkWebhookHost(new URL('https://93.184.215.14/x'))).toBeNull();
    expect(await checkWebhookHost(new URL('http://localhost/x'))).toMatch(/private/);
    expect(await checkWebhookHost(new URL('http://no-such-host.invalid/x'))).toBe('host could not be resolved');
  });
});
