/**
 * The mail API (engine/http/mailApi.ts) as `npx knock mail` calls it: JSON in and out, the device's token as a
 * bearer token, every answer checked against its schema (a server is network input too), every failure a KnockError
 * with the server's own words.
 *
 * @example
 *   const client = new MailClient('https://knock.example', 'knd_…');
 *   const { conversations } = await client.conversations();
 */
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { errorCodes, KnockError, type ErrorCode } from '../errors.ts';
import {
  conversationSummary,
  deviceLoginAnswer,
  fileRefSchema,
  mailConversationsAnswer,
  mailMessagesAnswer,
  newEmailAnswer,
  postMessageAnswer,
  type FileRef,
} from '../protocol.ts';

export type MailConversations = z.infer<typeof mailConversationsAnswer>;
export type MailMessages = z.infer<typeof mailMessagesAnswer>;

export class MailClient {
  constructor(
    /** The server's origin, e.g. https://knock.example. */
    private readonly origin: string,
    private readonly token: string | null,
  ) {}

  deviceLogin(body: { handle: string; password: string; name: string; code?: string }): Promise<z.infer<typeof deviceLoginAnswer>> {
    return this.call('POST', '/_/api/devices', body, deviceLoginAnswer);
  }

  /** Revokes a device: the token's own (a device may revoke only itself). */
  async revokeDevice(id: string): Promise<void> {
    await this.call('DELETE', `/_/api/settings/devices/${encodeURIComponent(id)}`, undefined, null);
  }

  conversations(): Promise<MailConversations> {
    return this.call('GET', '/_/api/mail/conversations', undefined, mailConversationsAnswer);
  }

  messages(conversationId: string, after: number): Promise<MailMessages> {
    return this.call('GET', `/_/api/mail/conversations/${encodeURIComponent(conversationId)}/messages?after=${after}`, undefined, mailMessagesAnswer);
  }

  async markRead(conversationId: string, seq: number): Promise<void> {
    await this.call('POST', `/_/api/conversations/${encodeURIComponent(conversationId)}/read`, { seq }, conversationSummary);
  }

  newEmail(body: { to: string; subject: string }): Promise<z.infer<typeof newEmailAnswer>> {
    return this.call('POST', '/_/api/emails', body, newEmailAnswer);
  }

  postMessage(conversationId: string, body: { clientMsgId: string; body: string; files: string[] }): Promise<z.infer<typeof postMessageAnswer>> {
    return this.call('POST', `/_/api/conversations/${encodeURIComponent(conversationId)}/messages`, body, postMessageAnswer);
  }

  /** Uploads a file into the conversation as the browser does (multipart, one part `file`), read from disk as it goes. */
  async upload(conversationId: string, file: string): Promise<FileRef> {
    const form = new FormData();
    form.append('file', await openAsBlob(file), path.basename(file));
    return this.send('POST', `/_/api/conversations/${encodeURIComponent(conversationId)}/files`, { body: form }, fileRefSchema);
  }

  private call<S extends z.ZodType>(method: string, route: string, body: unknown, schema: S | null): Promise<z.infer<S>> {
    return this.send(method, route, body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' }, schema);
  }

  private async send<S extends z.ZodType>(method: string, route: string, payload: { body?: string | FormData; type?: string }, schema: S | null): Promise<z.infer<S>> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (payload.type) headers['content-type'] = payload.type;
    let res: Response;
    try {
      res = await fetch(this.origin + route, { method, headers, ...(payload.body !== undefined ? { body: payload.body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new KnockError('unavailable', `Cannot reach ${this.origin}: ${cause}.`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = errorCodes.includes(error?.code as ErrorCode) ? (error!.code as ErrorCode) : 'internal';
      const message = typeof error?.message === 'string' ? error.message : `${this.origin} answered ${res.status} ${res.statusText}.`;
      throw new KnockError(code, message);
    }
    if (!schema) return undefined as z.infer<S>;
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new KnockError('internal', `${this.origin} answered ${route} with something Knock does not understand (is it a Knock server?).`);
    return parsed.data;
  }
}
