/** The DNS server's settings in Knock's one configuration (engine/config.ts KNOCK_DNS_*, KNOCK_PUBLIC_IPS). */
import { describe, expect, it } from 'vitest';
import { openDnsServer } from '../../adapters/dns/openDnsServer.ts';
import { zoneSettingsOf } from '../../adapters/dns/zone.ts';
import { configFromEnv } from '../../engine/config.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Storage } from '../../engine/ports/storage.ts';

const deps = { storage: {} as Storage, clock: { now: () => 0 }, logger: createLogger('silent') };

describe('the DNS settings', () => {
  it('leave the DNS server off by default, so a fresh start binds no DNS port', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({ dnsPort: 5353, dnsHost: '0.0.0.0', dnsNameservers: [], publicIps: [], dnsCaaIssuers: ['letsencrypt.org'], dnsCacheMs: 3000, dnsResponsesPerSecond: 20 });
    expect(openDnsServer(config, deps)).toBeNull();
  });

  it('read comma-separated name servers and addresses (lower case, no root dot), and turn the server on with them', () => {
    const config = configFromEnv({ KNOCK_DNS_NAMESERVERS: 'NS1.Knock.test., ns2.knock.test', KNOCK_PUBLIC_IPS: '192.0.2.10, 2001:db8::10', KNOCK_DNS_PORT: '53' });
    expect(config).toMatchObject({ dnsPort: 53, dnsNameservers: ['ns1.knock.test', 'ns2.knock.test'], publicIps: ['192.0.2.10', '2001:db8::10'] });
    expect(zoneSettingsOf(config)).toMatchObject({ ipv4: ['192.0.2.10'], ipv6: ['2001:db8::10'], mailHost: null, spf: null });
    expect(openDnsServer(config, deps)).not.toBeNull();
    expect(openDnsServer(configFromEnv({ KNOCK_DNS_NAMESERVERS: 'ns1.knock.test', KNOCK_PUBLIC_IPS: '192.0.2.10', KNOCK_DNS_PORT: 'off' }), deps)).toBeNull();
    expect(configFromEnv({ KNOCK_DNS_PORT: '-1' }).dnsPort).toBe(-1);
  });

  it('takes an empty KNOCK_DNS_CAA as no CAA record, and a mail host and an SPF record', () => {
    expect(configFromEnv({ KNOCK_DNS_CAA: '' }).dnsCaaIssuers).toEqual([]);
    expect(configFromEnv({ KNOCK_DNS_CAA: 'letsencrypt.org,sectigo.com' }).dnsCaaIssuers).toEqual(['letsencrypt.org', 'sectigo.com']);
    expect(configFromEnv({ KNOCK_DNS_MAIL_HOST: 'MX.knock.test', KNOCK_DNS_SPF: 'v=spf1 include:_spf.relay.test ~all' })).toMatchObject({ dnsMailHost: 'mx.knock.test', dnsSpf: 'v=spf1 include:_spf.relay.test ~all' });
  });

  it('refuses, by the variable\u2019s name, what would make wrong answers', () => {
    const refused = (env: Record<string, string>) => () => configFromEnv(env);
    expect(refused({ KNOCK_PUBLIC_IPS: '192.0.2.300', KNOCK_DNS_NAMESERVERS: 'ns1.knock.test' })).toThrow(/KNOCK_PUBLIC_IPS.*IPv4 or IPv6/);
    expect(refused({ KNOCK_DNS_NAMESERVERS: 'ns1 knock', KNOCK_PUBLIC_IPS: '192.0.2.1' })).toThrow(/KNOCK_DNS_NAMESERVERS.*host names/);
    expect(refused({ KNOCK_DNS_NAMESERVERS: 'localhost', KNOCK_PUBLIC_IPS: '192.0.2.1' })).toThrow(/KNOCK_DNS_NAMESERVERS/);
    expect(refused({ KNOCK_DNS_NAMESERVERS: 'ns1.knock.test' })).toThrow(/KNOCK_DNS_NAMESERVERS and KNOCK_PUBLIC_IPS go together/);
    expect(refused({ KNOCK_PUBLIC_IPS: '192.0.2.1' })).toThrow(/go together/);
    expect(refused({ KNOCK_DNS_SPF: 'include:x ~all' })).toThrow(/KNOCK_DNS_SPF.*v=spf1/);
    expect(refused({ KNOCK_DNS_PORT: '70000' })).toThrow(/KNOCK_DNS_PORT/);
    expect(refused({ KNOCK_DNS_PORT: 'on' })).toThrow(/KNOCK_DNS_PORT/);
  });
});
