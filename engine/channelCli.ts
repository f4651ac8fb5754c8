/**
 * Settings → Channels from the command line (issue 18), for operators: `knock channel add|list|remove|delay|order`
 * and `knock forwarding`. It works on the database alone, like the rest of engine/cli.ts, so it sends no code: a
 * channel added here is verified at once (the operator vouches for the address, as `knock user email` does). A push
 * subscription can only be made by a browser; the console adds it ("Notify me on this device").
 *
 * @example
 *   npx knock channel add alice xmpp alice@jabber.example
 *   npx knock channel delay alice <channel id> 10        # minutes after the knock
 *   npx knock forwarding alice --quiet 22:00-07:00 --time-zone Europe/Berlin
 */
import { generateWebhookSecret } from '../adapters/channels/webhook/signature.ts';
import { KnockError } from './errors.ts';
import { MAX_CHANNELS, shownAddress } from './forwarding/forwarding.ts';
import type { ChannelKind, ForwardingSettings } from './ports/channel.ts';
import { systemClock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';
import {
  describeIssues,
  emailSchema,
  forwardingSettingsSchema,
  jidSchema,
  MAX_CHANNEL_DELAY_MS,
  phoneSchema,
  webhookUrlSchema,
} from './protocol.ts';

export const CHANNEL_USAGE = `  knock channel add <handle> xmpp|email|sms|webhook <address>
  knock channel list <handle>
  knock channel remove <handle> <channel id>
  knock channel delay <handle> <channel id> <minutes after the knock>
  knock channel order <handle> <channel id>...
  knock forwarding <handle> [--pause | --resume] [--quiet HH:MM-HH:MM | --no-quiet] [--time-zone <zone>] [--away-counts yes|no]`;

export interface ForwardingOptions {
  pause?: boolean | undefined;
  resume?: boolean | undefined;
  quiet?: string | undefined;
  'no-quiet'?: boolean | undefined;
  'time-zone'?: string | undefined;
  'away-counts'?: string | undefined;
}

async function accountOf(storage: Storage, handle: string | undefined, usage: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `${usage} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

const addressSchemas = { xmpp: jidSchema, email: emailSchema, sms: phoneSchema, webhook: webhookUrlSchema } as const;

export async function channelCommand(storage: Storage, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const [handle, ...rest] = args;
  const account = await accountOf(storage, handle, `channel ${command}`);
  switch (command) {
    case 'add': {
      const [kind, address] = rest;
      if (kind === 'push') throw new KnockError('bad_request', 'A push subscription is made by a browser: press "Notify me on this device" in the console.');
      if (kind === undefined || !(kind in addressSchemas) || address === undefined) throw new KnockError('bad_request', 'channel add needs <handle> xmpp|email|sms|webhook <address>.');
      const parsed = addressSchemas[kind as keyof typeof addressSchemas].safeParse(address);
      if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
      const existing = await storage.listChannels(account.id);
      if (existing.length >= MAX_CHANNELS) throw new KnockError('bad_request', `${handle} has ${MAX_CHANNELS} channels already: remove one first.`);
      const secret = kind === 'webhook' ? generateWebhookSecret() : null;
      const delayMs = existing.length === 0 ? 0 : Math.min(MAX_CHANNEL_DELAY_MS, Math.max(...existing.map((c) => c.delayMs)) + 2 * 60_000);
      const channel = await storage.addChannel({
        accountId: account.id,
        kind: kind as ChannelKind,
        address: parsed.data,
        secret: secret === null ? null : JSON.stringify([secret]),
        delayMs,
        verified: true,
        at: systemClock.now(),
      });
      out.write(`Added ${channel.id}: ${channel.kind} ${channel.address} (verified), tried ${minutes(channel.delayMs)} after a knock.\n`);
      if (secret !== null) out.write(`Signing secret (shown once): ${secret}\n`);
      return 0;
    }
    case 'list': {
      for (const c of await storage.listChannels(account.id)) {
        out.write(`${c.id}\t${c.kind}\t${shownAddress(c)}\t${c.verified ? 'verified' : 'unverified'}\t${minutes(c.delayMs)}\n`);
      }
      return 0;
    }
    case 'remove': {
      const [id] = rest;
      if (!id) throw new KnockError('bad_request', 'channel remove needs <handle> <channel id>.');
      if (!(await storage.removeChannel(account.id, id))) throw new KnockError('not_found', `${handle} has no channel "${id}".`);
      out.write(`Removed ${id}.\n`);
      return 0;
    }
    case 'delay': {
      const [id, text] = rest;
      const value = Number(text);
      if (!id || text === undefined || !/^\d+(\.\d+)?$/.test(text) || value * 60_000 > MAX_CHANNEL_DELAY_MS) {
        throw new KnockError('bad_request', 'channel delay needs <handle> <channel id> <minutes after the knock, 0 to 1440>.');
      }
      if (!(await storage.setChannelDelay(account.id, id, Math.round(value * 60_000)))) throw new KnockError('not_found', `${handle} has no channel "${id}".`);
      out.write(`${id} is tried ${minutes(Math.round(value * 60_000))} after a knock.\n`);
      return 0;
    }
    case 'order': {
      if (rest.length === 0 || !(await storage.reorderChannels(account.id, rest))) {
        throw new KnockError('bad_request', `channel order needs every channel id of ${handle} once, first first (knock channel list ${handle}).`);
      }
      out.write(`Order of ${handle}: ${rest.join(', ')}.\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "channel ${command}".`);
  }
}

export async function forwardingCommand(storage: Storage, handle: string | undefined, options: ForwardingOptions, out: NodeJS.WritableStream): Promise<number> {
  const account = await accountOf(storage, handle, 'forwarding');
  const current = await storage.getForwardingSettings(account.id);
  const next: ForwardingSettings = { ...current };
  if (options.pause && options.resume) throw new KnockError('bad_request', '--pause and --resume go alone.');
  if (options.pause) next.paused = true;
  if (options.resume) next.paused = false;
  if (options.quiet !== undefined && options['no-quiet']) throw new KnockError('bad_request', '--quiet and --no-quiet go alone.');
  if (options['no-quiet']) next.quietHours = null;
  if (options.quiet !== undefined) next.quietHours = quietHoursOf(options.quiet);
  if (options['time-zone'] !== undefined) next.timeZone = options['time-zone'];
  if (options['away-counts'] !== undefined) {
    if (options['away-counts'] !== 'yes' && options['away-counts'] !== 'no') throw new KnockError('bad_request', '--away-counts is yes or no.');
    next.xmppAwayCounts = options['away-counts'] === 'yes';
  }
  const parsed = forwardingSettingsSchema.safeParse(next);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  if (JSON.stringify(parsed.data) !== JSON.stringify(current)) await storage.setForwardingSettings(account.id, parsed.data);
  const s = parsed.data;
  const quiet = s.quietHours === null ? 'no quiet hours' : `quiet ${clock(s.quietHours.start)}-${clock(s.quietHours.end)}`;
  out.write(`${handle}: forwarding ${s.paused ? 'paused' : 'on'}, ${quiet} (${s.timeZone}), XMPP away ${s.xmppAwayCounts ? 'counts' : 'skips'}.\n`);
  return 0;
}

function quietHoursOf(text: string): { start: number; end: number } {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3]) > 23 || Number(m[4]) > 59) {
    throw new KnockError('bad_request', '--quiet is HH:MM-HH:MM in your time zone, e.g. 22:00-07:00.');
  }
  return { start: Number(m[1]) * 60 + Number(m[2]), end: Number(m[3]) * 60 + Number(m[4]) };
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function minutes(ms: number): string {
  return ms === 0 ? 'at once' : `${+(ms / 60_000).toFixed(2)} min`;
}
