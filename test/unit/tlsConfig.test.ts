/** The settings of TLS by itself (issue 21): what KNOCK_TLS and KNOCK_ACME_* accept, and what they refuse by name. */
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../engine/config.ts';

describe('TLS settings', () => {
  it('default to plain HTTP, and to Let\u2019s Encrypt with HTTP-01, 443/80 and a 30-day window under KNOCK_TLS=acme', () => {
    expect(configFromEnv({}).tls).toBe('off');
    const config = configFromEnv({ KNOCK_TLS: 'acme', KNOCK_ACME_EMAIL: 'ops@chat.example' });
    expect(config).toMatchObject({
      tls: 'acme', httpsPort: 443, httpPort: 80, acmeDirectory: 'https://acme-v02.api.letsencrypt.org/directory', acmeEmail: 'ops@chat.example',
      acmeChallenge: 'http-01', acmeRenewBeforeMs: 30 * 24 * 3600_000, acmeRetryMinMs: 15 * 60_000, acmeRetryMaxMs: 24 * 3600_000,
    });
    expect(configFromEnv({ KNOCK_TLS: 'acme', KNOCK_HTTP_PORT: 'off', KNOCK_ACME_CHALLENGE: 'dns-01' })).toMatchObject({ httpPort: -1, acmeChallenge: 'dns-01' });
  });

  it('refuses what it cannot use, naming the variable', () => {
    for (const [env, message] of [
      [{ KNOCK_TLS: 'letsencrypt' }, /KNOCK_TLS.*"off" or "acme"/],
      [{ KNOCK_ACME_DIRECTORY: 'ftp://ca.example/dir' }, /KNOCK_ACME_DIRECTORY/],
      [{ KNOCK_ACME_EMAIL: 'not an address' }, /KNOCK_ACME_EMAIL.*email/],
      [{ KNOCK_ACME_CHALLENGE: 'tls-alpn-01' }, /KNOCK_ACME_CHALLENGE/],
      [{ KNOCK_HTTPS_PORT: '70000' }, /KNOCK_HTTPS_PORT/],
      [{ KNOCK_TLS_CERT_FILE: '/etc/knock/host.pem' }, /KNOCK_TLS_CERT_FILE and KNOCK_TLS_KEY_FILE go together/],
      [{ KNOCK_ACME_RETRY_MIN_MS: '7200000', KNOCK_ACME_RETRY_MAX_MS: '3600000' }, /KNOCK_ACME_RETRY_MAX_MS/],
      [{ KNOCK_ACME_POLL_MS: '1' }, /KNOCK_ACME_POLL_MS/],
    ] as const) {
      expect(() => configFromEnv(env), JSON.stringify(env)).toThrow(message);
    }
  });
});
