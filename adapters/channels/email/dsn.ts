/**
 * Bounces (delivery status notifications, RFC 3464, and their UTF-8 form, RFC 6533): which mail Knock sent came
 * back, for whom, and why. A DSN is a `multipart/report; report-type=delivery-status` with a human-readable part, a
 * `message/delivery-status` part (fields per message, then per recipient, like headers in blocks) and the returned
 * message or its headers. mailparser hands the last two over as attachments (options keepDeliveryStatus and
 * ignoreEmbedded); this module reads them.
 *
 * @example
 *   deliveryReportOf(parsed.headers.get('content-type'), parsed.attachments);
 *   // { originalMessageId: 'knock.c1.4@example.com', recipient: 'bob@example.org', status: '5.1.1',
 *   //   diagnostic: '550 5.1.1 No such user' }
 */
import type { InboundMail } from '../../../engine/ports/mail.ts';

export type DeliveryReport = NonNullable<InboundMail['bounce']>;

/** What a DSN's parts look like to this module (mailparser's attachments are these and more). */
export interface ReportPart {
  contentType: string;
  content: Buffer;
}

const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers', 'message/rfc822-headers']);
/** The returned message's headers are at its start; no need to read a returned 30 MB attachment. */
const HEADER_BYTES = 64 * 1024;

/**
 * The delivery report of a mail: null unless it is a `multipart/report` with a delivery-status part. Of several
 * recipients, the first that failed (else the first) is the one reported.
 */
export function deliveryReportOf(contentType: unknown, parts: readonly ReportPart[]): DeliveryReport | null {
  if (structuredValue(contentType) !== 'multipart/report') return null;
  const statusPart = parts.find((p) => STATUS_TYPES.has(p.contentType.toLowerCase()));
  if (!statusPart) return null;
  const [, ...recipients] = fieldBlocks(statusPart.content.toString('utf8'));
  const recipient = recipients.find((r) => /^failed/i.test(r.get('action') ?? '')) ?? recipients[0] ?? new Map<string, string>();
  const returned = parts.find((p) => RETURNED_TYPES.has(p.contentType.toLowerCase()));
  return {
    originalMessageId: returned ? messageIdOf(returned.content.subarray(0, HEADER_BYTES).toString('utf8')) : null,
    recipient: withoutType(recipient.get('final-recipient') ?? recipient.get('original-recipient')) || null,
    status: (recipient.get('status') ?? '').match(/\d\.\d{1,3}\.\d{1,3}/)?.[0] ?? '',
    diagnostic: withoutType(recipient.get('diagnostic-code')).replace(/\s+/g, ' ').slice(0, 1000),
  };
}

/** mailparser gives Content-Type as `{ value, params }`. */
function structuredValue(header: unknown): string {
  if (typeof header === 'object' && header !== null && 'value' in header && typeof header.value === 'string') {
    return header.value.toLowerCase();
  }
  return '';
}

/**
 * Header-like fields in blocks separated by blank lines, names lowercased, folded lines unfolded; a repeated field
 * keeps its first value.
 */
function fieldBlocks(text: string): Map<string, string>[] {
  const blocks: Map<string, string>[] = [];
  let block = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (block.size > 0) blocks.push(block);
      block = new Map();
      last = null;
    } else if (/^[ \t]/.test(line) && last !== null) {
      block.set(last, `${block.get(last)} ${line.trim()}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      last = block.has(name) ? null : name;
      if (last !== null) block.set(name, line.slice(colon + 1).trim());
    }
  }
  if (block.size > 0) blocks.push(block);
  return blocks;
}

/** The Message-ID of a message's header block, without angle brackets. */
function messageIdOf(message: string): string | null {
  const headers = fieldBlocks(message.split(/\r?\n\r?\n/, 1)[0] ?? '')[0];
  const value = headers?.get('message-id') ?? '';
  return value.match(/<([^<>\s]+)>/)?.[1] ?? (value.trim() || null);
}

/** `rfc822; bob@example.org` -> `bob@example.org`; `smtp; 550 ...` -> `550 ...` (the type says how to read it). */
function withoutType(field: string | undefined): string {
  if (field === undefined) return '';
  const semicolon = field.indexOf(';');
  return (semicolon >= 0 ? field.slice(semicolon + 1) : field).trim();
}
