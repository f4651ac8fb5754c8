/** The JSON API, for the browser (same-origin cookies) and for Node tests (an explicit base and cookie jar). */
import {
  conversationSummary,
  inboxAnswer,
  knockAnswer,
  newEmailAnswer,
  profileAnswer,
  settingsAnswer,
  visitorConversation,
  addChannelAnswer,
  channelRecord,
  channelsAnswer,
  companyAnswer,
  operatorInviteAnswer,
  phoneAnswer,
  domainsAnswer,
  ACTING_ACCOUNT_HEADER,
  type PhoneAnswer,
  type DomainsAnswer,
  type CompanyAnswer,
  type AddChannelAnswer,
  type AddChannelBody,
  type ChannelRecord,
  type ChannelsAnswer,
  type ConversationSummary,
  type InboxAnswer,
  type InboxFilter,
  type KnockAnswer,
  type PageRef,
  type ProfileAnswer,
  type SecondFactorLogin,
  type SettingsAnswer,
  type VisitorConversation,
} from '../../../engine/protocol.ts';
import type { z } from 'zod';

/** A company the signed-in person works for, as the profile lists it and joining one answers. */
const companyMembership = profileAnswer.shape.companies.unwrap().element;
export type CompanyMembership = z.infer<typeof companyMembership>;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** What the server added (e.g. `retryAfterMs` for `rate_limited`). */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiOptions {
  /** '' in the browser (same origin); http://host:port elsewhere. */
  base: string;
  /** Node only: a cookie jar so tests can act as a browser would. */
  cookies?: Map<string, string>;
}

export function createApi(options: ApiOptions) {
  /** The account every call acts for (a company's operators' console: `setAccount('acme')`), or null: the session's own. */
  let acting: string | null = null;

  async function call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S | null, extra?: Record<string, string>): Promise<z.infer<S>> {
    const headers: Record<string, string> = { ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (acting !== null) headers[ACTING_ACCOUNT_HEADER] = acting;
    if (options.cookies && options.cookies.size > 0) {
      headers.cookie = [...options.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    }
    let res: Response;
    try {
      res = await fetch(`${options.base}${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError('network', 'The server cannot be reached. Check your connection and try again.', 0);
    }
    if (options.cookies) rememberCookies(res, options.cookies);
    const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string; data?: Record<string, unknown> } } | null;
    if (!res.ok) {
      throw new ApiError(json?.error?.code ?? 'internal', json?.error?.message ?? `The server answered ${res.status}.`, res.status, json?.error?.data);
    }
    if (!schema) return json as z.infer<S>;
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiError('internal', 'The server sent an answer this page does not understand.', res.status);
    return parsed.data;
  }

  return {
    /**
     * Acts for `handle` (a company the signed-in person is an operator of) in every call from now on, or for the
     * session's own account again (`null`). The server refuses every call of a person who may not act for it.
     */
    setAccount(handle: string | null): void {
      acting = handle;
    },
    /** The account the calls act for (`setAccount`), or null. */
    get account(): string | null {
      return acting;
    },
    /**
     * Any call, with `extra` headers (a visitor's `Authorization: Bearer <token>`): for the calls of the parts of the
     * page loaded on demand (views/companyViews.ts), which keep them out of what every page loads.
     */
    request: call,
    profile(handle: string, resumeToken?: string): Promise<ProfileAnswer> {
      const query = resumeToken ? `?resume=${encodeURIComponent(resumeToken)}` : '';
      return call('GET', `/_/api/profile/${encodeURIComponent(handle)}${query}`, undefined, profileAnswer);
    },
    /** Continues the conversation of a resume link in this browser (it becomes the one the browser holds with `handle`). */
    resume(handle: string, token: string): Promise<VisitorConversation> {
      return call('POST', `/_/api/u/${encodeURIComponent(handle)}/resume`, { token }, visitorConversation);
    },
    /**
     * Starts a conversation with `handle`: the visitor's name and an address to be answered at, both optional, and the
     * page of a company's site the widget's chat was opened on.
     */
    knock(handle: string, name?: string, email?: string, startedOn?: PageRef): Promise<KnockAnswer> {
      const body = { ...(name ? { name } : {}), ...(email ? { email } : {}), ...(startedOn ? { startedOn } : {}) };
      return call('POST', `/_/api/u/${encodeURIComponent(handle)}/knock`, body, knockAnswer);
    },
    /** The owner's inbox: conversations matching every word of `q` (if any) and the filter, and the quota used. */
    inbox(query: { q?: string; filter?: InboxFilter } = {}): Promise<InboxAnswer> {
      const params = new URLSearchParams();
      if (query.q !== undefined && query.q.trim() !== '') params.set('q', query.q.trim());
      params.set('filter', query.filter ?? 'all');
      return call('GET', `/_/api/conversations?${params}`, undefined, inboxAnswer);
    },
    /** Archives a conversation (hidden from the default list until new activity), or brings it back. */
    archive(conversationId: string, archived: boolean): Promise<ConversationSummary> {
      return call('POST', `${conversationPath(conversationId)}/archive`, { archived }, conversationSummary);
    },
    /** Shows a conversation unread until the owner reads it again. */
    markUnread(conversationId: string): Promise<ConversationSummary> {
      return call('POST', `${conversationPath(conversationId)}/unread`, {}, conversationSummary);
    },
    /** Deletes a conversation for good: its messages, documents, games and files. */
    async deleteConversation(conversationId: string): Promise<void> {
      await call('DELETE', conversationPath(conversationId), undefined, null);
    },
    /**
     * "New email": an email conversation with `to` about `subject`, empty; its first message is then sent in it like
     * any other (ConversationSession.send), and the server mails it.
     */
    async newEmail(to: string, subject: string): Promise<string> {
      return (await call('POST', '/_/api/emails', { to, subject }, newEmailAnswer)).conversationId;
    },
    /** The owner's settings: their email address, the address mail reaches them at, their mail devices. */
    settings(): Promise<SettingsAnswer> {
      return call('GET', '/_/api/settings', undefined, settingsAnswer);
    },
    /** Sets the owner's email address (the server mails a link to verify it), or removes it (`null`). */
    async setEmail(address: string | null): Promise<void> {
      await call('PUT', '/_/api/settings/email', { address }, null);
    },
    /** Revokes a mail device's token: the mail client that holds it is refused from now on. */
    async revokeDevice(deviceId: string): Promise<void> {
      await call('DELETE', `/_/api/settings/devices/${encodeURIComponent(deviceId)}`, undefined, null);
    },
    /** Settings → Channels: the owner's channels, the forwarding settings, what this server can send. */
    /** Settings → Phone number (issue 20): the account's number, and a claim waiting for its code. */
    phone(): Promise<PhoneAnswer> {
      return call('GET', '/_/api/phone', undefined, phoneAnswer);
    },
    /** Sends a code by SMS to the number typed (any spelling with its country code). */
    claimPhone(number: string): Promise<PhoneAnswer> {
      return call('POST', '/_/api/phone', { number }, phoneAnswer);
    },
    verifyPhone(code: string): Promise<PhoneAnswer> {
      return call('POST', '/_/api/phone/verify', { code }, phoneAnswer);
    },
    releasePhone(): Promise<PhoneAnswer> {
      return call('DELETE', '/_/api/phone', undefined, phoneAnswer);
    },
    /** Settings → Domains (issue 21): the account's own domains and the NS records to set for them. */
    domains(): Promise<DomainsAnswer> {
      return call('GET', '/_/api/domains', undefined, domainsAnswer);
    },
    addDomain(domain: string): Promise<DomainsAnswer> {
      return call('POST', '/_/api/domains', { domain }, domainsAnswer);
    },
    checkDomain(name: string): Promise<DomainsAnswer> {
      return call('POST', `/_/api/domains/${encodeURIComponent(name)}/check`, {}, domainsAnswer);
    },
    removeDomain(name: string): Promise<DomainsAnswer> {
      return call('DELETE', `/_/api/domains/${encodeURIComponent(name)}`, undefined, domainsAnswer);
    },
    channels(): Promise<ChannelsAnswer> {
      return call('GET', '/_/api/channels', undefined, channelsAnswer);
    },
    /** Adds a channel; the server sends it a code to type back (a push subscription needs none). */
    addChannel(body: AddChannelBody): Promise<AddChannelAnswer> {
      return call('POST', '/_/api/channels', body, addChannelAnswer);
    },
    verifyChannel(id: string, code: string): Promise<ChannelRecord> {
      return call('POST', `/_/api/channels/${encodeURIComponent(id)}/verify`, { code }, channelRecord);
    },
    async resendChannelCode(id: string): Promise<void> {
      await call('POST', `/_/api/channels/${encodeURIComponent(id)}/code`, {}, null);
    },
    async removeChannel(id: string): Promise<void> {
      await call('DELETE', `/_/api/channels/${encodeURIComponent(id)}`, undefined, null);
    },
    setChannelDelay(id: string, delayMs: number): Promise<ChannelsAnswer> {
      return call('PUT', `/_/api/channels/${encodeURIComponent(id)}/delay`, { delayMs }, channelsAnswer);
    },
    orderChannels(ids: string[]): Promise<ChannelsAnswer> {
      return call('PUT', '/_/api/channels/order', { ids }, channelsAnswer);
    },
    setForwarding(settings: ChannelsAnswer['settings']): Promise<ChannelsAnswer> {
      return call('PUT', '/_/api/forwarding', settings, channelsAnswer);
    },
    /** Settings → Company (the console of a company): its operators, its allowed sites, the embed snippet. */
    company(): Promise<CompanyAnswer> {
      return call('GET', '/_/api/company', undefined, companyAnswer);
    },
    /** Allows an origin (`https://shop.example`) to embed the company's widget (admins). */
    addSite(origin: string): Promise<CompanyAnswer> {
      return call('POST', '/_/api/company/sites', { origin }, companyAnswer);
    },
    removeSite(origin: string): Promise<CompanyAnswer> {
      return call('DELETE', `/_/api/company/sites?origin=${encodeURIComponent(origin)}`, undefined, companyAnswer);
    },
    /** A single-use link that makes whoever opens it, signed in, an operator of the company (admins). */
    inviteOperator(role: 'admin' | 'operator' = 'operator'): Promise<z.infer<typeof operatorInviteAnswer>> {
      return call('POST', '/_/api/company/operators/invite', { role }, operatorInviteAnswer);
    },
    removeOperator(handle: string): Promise<CompanyAnswer> {
      return call('DELETE', `/_/api/company/operators/${encodeURIComponent(handle)}`, undefined, companyAnswer);
    },
    /** The signed-in operator's own status and capacity in the company. */
    setMyStatus(status: 'online' | 'away'): Promise<CompanyAnswer> {
      return call('PUT', '/_/api/company/me/status', { status }, companyAnswer);
    },
    setMyCapacity(capacity: number): Promise<CompanyAnswer> {
      return call('PUT', '/_/api/company/me/capacity', { capacity }, companyAnswer);
    },
    /** Takes an invitation (the token of its `/_/join/<token>` link): the signed-in person joins the company's team. */
    joinCompany(token: string): Promise<CompanyMembership> {
      return call('POST', '/_/api/company/join', { token }, companyMembership);
    },
    /** Signed in (the cookie is set), or, for an account with two-factor sign-in, the second step due (no session yet). */
    async login(handle: string, password: string): Promise<{ secondFactor?: SecondFactorLogin }> {
      return (await call('POST', '/_/api/login', { handle, password }, null)) as { secondFactor?: SecondFactorLogin };
    },
    async logout(): Promise<void> {
      await call('POST', '/_/api/logout', {}, null);
    },
    async signup(input: { handle: string; displayName: string; password: string }): Promise<void> {
      await call('POST', '/_/api/signup', input, null);
    },
    async signupOpen(): Promise<boolean> {
      const answer = (await call('GET', '/_/api/signup', undefined, null)) as { open?: boolean };
      return answer.open === true;
    },
  };
}

export type KnockApi = ReturnType<typeof createApi>;

/** Where the owner's HTTP actions on one conversation live; its files are uploaded under it too (fileUpload.ts). */
export function conversationPath(conversationId: string): string {
  return `/_/api/conversations/${encodeURIComponent(conversationId)}`;
}

/**
 * Where the sanitized HTML of an email that came in is shown from (in a sandboxed frame): the server's policy blocks
 * remote images unless `images` asks for them.
 */
export function emailHtmlPath(conversationId: string, seq: number, images: boolean): string {
  return `${conversationPath(conversationId)}/emails/${seq}.html${images ? '?images=1' : ''}`;
}

/** The browser's API: same origin, cookies handled by the browser. */
export const api: KnockApi = createApi({ base: '' });

function rememberCookies(res: Response, jar: Map<string, string>): void {
  const headers = res.headers as Headers & { getSetCookie?: () => string[] };
  for (const line of headers.getSetCookie?.() ?? []) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (!pair || eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = decodeURIComponent(pair.slice(eq + 1).trim());
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}
