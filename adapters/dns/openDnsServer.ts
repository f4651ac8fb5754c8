/**
 * The DNS server of a config, or null when it is off: KNOCK_DNS_PORT=-1, or no name servers and public addresses
 * configured (without them there is nothing true to answer, so a fresh `npm start` binds no DNS port at all).
 *
 * @example
 *   const dns = openDnsServer(config, { storage, clock, logger }); // DnsServer | null
 *   const port = dns ? (await dns.listen()).port : null;
 */
import type { KnockConfig } from '../../engine/config.ts';
import { StoredDnsZones } from '../../engine/dnsZones.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { DomainStorage } from '../../engine/ports/storage.ts';
import { DnsServer } from './dnsServer.ts';
import { DnsResponder } from './responder.ts';
import { zoneSettingsOf } from './zone.ts';

export function openDnsServer(config: KnockConfig, deps: { storage: DomainStorage; clock: Clock; logger: Logger }): DnsServer | null {
  if (config.dnsPort < 0 || config.dnsNameservers.length === 0 || config.publicIps.length === 0) return null;
  const zones = new StoredDnsZones({ storage: deps.storage, clock: deps.clock, logger: deps.logger, cacheMs: config.dnsCacheMs });
  const responder = new DnsResponder({ zones, settings: zoneSettingsOf(config) });
  return new DnsServer({
    responder,
    logger: deps.logger,
    clock: deps.clock,
    host: config.dnsHost,
    port: config.dnsPort,
    responsesPerSecond: config.dnsResponsesPerSecond,
    tcpIdleTimeoutMs: config.dnsTcpIdleTimeoutMs,
  });
}
