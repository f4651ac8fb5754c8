/**
 * `npx knock mail ...`: the owner's conversations in a mail client, through the server's HTTP API (not the database:
 * it runs on the owner's own computer).
 *
 *   knock mail login <your Knock URL> [--password-stdin] [--name <device>] [--code <code>] [--allow-http]
 *   knock mail sync <maildir>
 *   knock mail send --to <address> --subject <subject> [--attach <file>]... [--text <text>]
 *   knock mail logout
 *
 * @example
 *   printf 'my password\n' | npx knock mail login https://knock.example/alice --password-stdin
 *   npx knock mail sync ~/Mail/knock      # "3 new, 1 marked read here, 0 marked read there"
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import { KnockError } from '../errors.ts';
import { handleSchema } from '../protocol.ts';
import { MailClient } from './client.ts';
import { credentialsFile, loadCredentials, removeCredentials, saveCredentials, type MailCredentials } from './credentials.ts';
import { syncMaildir } from './maildir.ts';

export const MAIL_USAGE = `  knock mail login <your Knock URL, e.g. https://knock.example/alice> [--password-stdin] [--name "<this device>"] [--code <authenticator code>] [--allow-http]
  knock mail sync <maildir>
  knock mail send --to <address> --subject "<subject>" [--attach <file>]... [--text "<text>"]   (else the text is read from standard input)
  knock mail logout`;

/** What the commands take from the process: its environment's config places and its standard streams. */
export interface MailCliIo {
  env: { XDG_CONFIG_HOME?: string | undefined; HOME?: string | undefined };
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface MailCliOptions {
  'password-stdin'?: boolean | undefined;
  name?: string | undefined;
  /** With two-factor sign-in (issue 22): a code of the authenticator app, or a recovery code. */
  code?: string | undefined;
  'allow-http'?: boolean | undefined;
  to?: string | undefined;
  subject?: string | undefined;
  attach?: string[] | undefined;
  text?: string | undefined;
}

/** Runs one `mail` command; resolves with the exit code, or rejects with a KnockError to print on one line. */
export async function mailCommand(command: string | undefined, args: string[], options: MailCliOptions, io: MailCliIo): Promise<number> {
  const file = credentialsFile(io.env);
  switch (command) {
    case 'login':
      return login(args[0], options, io, file);
    case 'logout':
      return logout(io, file);
    case 'sync': {
      if (!args[0]) throw new KnockError('bad_request', 'mail sync needs <maildir>: the directory to write the messages into.');
      const credentials = await loadCredentials(file);
      const summary = await syncMaildir(args[0], clientOf(credentials), `${credentials.url}/${credentials.handle}`);
      io.stdout.write(`${summary.added} new, ${summary.seenHere} marked read here, ${summary.seenThere} marked read there\n`);
      return 0;
    }
    case 'send':
      return send(options, io, file);
    default:
      throw new KnockError('bad_request', `Unknown command "mail ${command ?? ''}".\nUsage:\n${MAIL_USAGE}`);
  }
}

async function login(imUrl: string | undefined, options: MailCliOptions, io: MailCliIo, file: string): Promise<number> {
  if (!imUrl) throw new KnockError('bad_request', 'mail login needs your Knock URL, e.g. https://knock.example/alice.');
  const { origin, handle } = parseImUrl(imUrl, options['allow-http'] === true);
  const password = options['password-stdin'] ? await readLine(io.stdin) : await readHiddenLine(io);
  const name = (options.name ?? os.hostname()).trim().slice(0, 64) || 'knock mail';
  const answer = await new MailClient(origin, null).deviceLogin({ handle, password, name, ...(options.code ? { code: options.code } : {}) });
  await saveCredentials(file, { url: origin, handle: answer.handle, token: answer.token, id: answer.id });
  io.stdout.write(`Logged in as ${answer.handle} at ${origin}; your address is ${answer.mailAddress}. The token is kept in ${file}.\n`);
  return 0;
}

/** Revokes this device's token on the server (a device may revoke itself), then forgets it here. */
async function logout(io: MailCliIo, file: string): Promise<number> {
  const credentials = await loadCredentials(file);
  try {
    await clientOf(credentials).revokeDevice(credentials.id);
  } catch (err) {
    // Revoked already (in the console, or by a new password): nothing left to revoke.
    if (!(err instanceof KnockError && err.code === 'unauthorized')) throw err;
  }
  await removeCredentials(file);
  io.stdout.write(`Logged out of ${credentials.url}/${credentials.handle}: the token is revoked and removed from ${file}.\n`);
  return 0;
}

/** A new email conversation, its attachments uploaded into it, then the message itself: mailed by the server's outbox. */
async function send(options: MailCliOptions, io: MailCliIo, file: string): Promise<number> {
  if (!options.to || !options.subject) throw new KnockError('bad_request', 'mail send needs --to <address> and --subject "<subject>".');
  const attachments = options.attach ?? [];
  for (const attachment of attachments) {
    const info = await stat(attachment).catch(() => null);
    if (!info?.isFile()) throw new KnockError('bad_request', `${attachment} is not a file.`);
  }
  const text = (options.text ?? (await readAll(io))).replace(/\s+$/, '');
  if (text.length === 0 && attachments.length === 0) throw new KnockError('bad_request', 'Nothing to send: give the text on standard input or with --text, or attach a file.');
  const client = clientOf(await loadCredentials(file));
  const { conversationId } = await client.newEmail({ to: options.to, subject: options.subject });
  try {
    const files: string[] = [];
    for (const attachment of attachments) files.push((await client.upload(conversationId, attachment)).id);
    await client.postMessage(conversationId, { clientMsgId: randomBytes(16).toString('base64url'), body: text, files });
  } catch (err) {
    if (err instanceof KnockError) throw new KnockError(err.code, `The conversation ${conversationId} was made, but nothing was sent: ${err.message}`);
    throw err;
  }
  io.stdout.write(`${conversationId}\n`);
  return 0;
}

function clientOf(credentials: MailCredentials): MailClient {
  return new MailClient(credentials.url, credentials.token);
}

/**
 * The server and handle of an IM URL (`https://knock.example/alice`). A password and a token sent over plain HTTP
 * can be read on the way, so http is taken only for this machine, or when asked for (`--allow-http`).
 */
export function parseImUrl(text: string, allowHttp: boolean): { origin: string; handle: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KnockError('bad_request', `"${text}" is not a URL: give your Knock URL, e.g. https://knock.example/alice.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KnockError('bad_request', 'Your Knock URL starts with https://.');
  const segments = url.pathname.split('/').filter(Boolean);
  const handle = handleSchema.safeParse(segments[0] ?? '');
  if (segments.length !== 1 || !handle.success) throw new KnockError('bad_request', `${text} is not an IM URL: it is the server and your handle, e.g. https://knock.example/alice.`);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && !loopback && !allowHttp) {
    throw new KnockError('bad_request', `${url.origin} is plain HTTP: your password and token would cross the network readable by anyone on the way. Use https://, or --allow-http if you must.`);
  }
  return { origin: url.origin, handle: handle.data };
}

/** The first line of standard input (`--password-stdin`). */
async function readLine(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Everything on standard input (the text of `mail send`); at a terminal, up to Ctrl-D. */
async function readAll(io: MailCliIo): Promise<string> {
  if (io.stdin.isTTY) io.stderr.write('Type the message, then Ctrl-D on a line of its own:\n');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks for the password at the terminal without showing it. */
function readHiddenLine(io: MailCliIo): Promise<string> {
  const { stdin, stderr } = io;
  if (!stdin.isTTY) throw new KnockError('bad_request', 'There is no terminal to ask the password at: give it on standard input with --password-stdin.');
  stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(line);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && line === '')) {
          finish();
          reject(new KnockError('bad_request', 'Cancelled.'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else if (ch >= ' ') line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
