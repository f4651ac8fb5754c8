/**
 * Who really sent a received mail, as far as SPF, DKIM, DMARC and ARC can tell (`mailauth`), in the protocol's
 * terms (EmailAuth), with the `Authentication-Results:` (and `Received-SPF:`) lines that go on top of the stored
 * message. `suspicious` is a failed DMARC: the domain in From says mail from it is signed or sent from its own
 * servers, and this one is neither.
 *
 * DNS goes through `resolver` when one is given (tests serve their own records; same shape as `dns.promises.resolve`),
 * else through a resolver with short timeouts, so a dead name server holds the SMTP session seconds, not minutes.
 */
import { Resolver } from 'node:dns/promises';
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import type { Logger } from '../../../engine/logger.ts';
import { mailAuthResultSchema, type EmailAuth, type MailAuthResult } from '../../../engine/protocol.ts';

export type { DNSResolver };

export interface AuthenticationInput {
  raw: Buffer;
  /** The client's IP address. */
  ip: string;
  /** What it said in HELO/EHLO. */
  helo: string;
  /** MAIL FROM ('' for a bounce). */
  mailFrom: string;
  /** This server's name, the authserv-id of Authentication-Results. */
  hostname: string;
  resolver: DNSResolver;
}

export interface Authentication {
  auth: EmailAuth;
  /** Header lines to put on top of the message, each ending in CRLF. */
  headers: string;
}

/** A resolver with timeouts fit for an SMTP session (Node's default tries for about a minute). */
export function systemResolver(): DNSResolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  // Node's resolve() has one overload per record type; mailauth asks with the type as a string.
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<string[][] | string[]>;
}

/** Checks the mail; never rejects (a failure of the checks is a `temperror` of each, logged). */
export async function authenticateMail(input: AuthenticationInput, logger: Pick<Logger, 'warn'>): Promise<Authentication> {
  try {
    const result = await authenticate(input.raw, {
      ip: input.ip,
      helo: input.helo,
      sender: input.mailFrom,
      mta: input.hostname,
      resolver: input.resolver,
      // BIMI finds a logo to show beside the sender; Knock shows none, so its DNS lookups would be wasted.
      disableBimi: true,
    });
    return { auth: emailAuthOf(result), headers: result.headers };
  } catch (err) {
    logger.warn({ err, ip: input.ip }, 'could not check the authentication of a received mail');
    const failed = 'temperror' as const;
    return {
      auth: { spf: failed, dkim: failed, dmarc: failed, arc: failed, suspicious: false },
      headers: `Authentication-Results: ${input.hostname};\r\n spf=temperror; dkim=temperror; dmarc=temperror\r\n`,
    };
  }
}

function emailAuthOf(result: AuthenticateResult): EmailAuth {
  const signatures = result.dkim.results;
  const dkim = signatures.some((s) => s.status.result === 'pass') ? 'pass' : resultOf(signatures[0]?.status.result);
  const dmarc = result.dmarc ? resultOf(result.dmarc.status.result) : 'none';
  return {
    spf: result.spf ? resultOf(result.spf.status.result) : 'none',
    dkim,
    dmarc,
    arc: result.arc ? resultOf(result.arc.status.result) : 'none',
    suspicious: dmarc === 'fail',
  };
}

/** mailauth's words in the protocol's: `temperr` is its short form of temperror, `skipped` means nothing was checked. */
function resultOf(value: string | undefined): MailAuthResult {
  if (value === undefined || value === 'skipped') return 'none';
  if (value === 'temperr') return 'temperror';
  const known = mailAuthResultSchema.safeParse(value);
  return known.success ? known.data : 'neutral';
}
