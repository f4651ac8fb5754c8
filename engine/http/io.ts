/** Reading and writing HTTP bodies the same way everywhere: JSON in (size-capped), JSON or a KnockError out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { KnockError, asKnockError } from '../errors.ts';
import { describeIssues } from '../protocol.ts';
import type { Logger } from '../logger.ts';

/**
 * The bytes of a JSON request, as they came (a signature is checked over them before they are parsed), at most
 * `maxBytes`: refused before reading when the declared length is over, and as soon as the stream passes it.
 */
export async function readJsonBytes(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const type = req.headers['content-type'] ?? '';
  // Only JSON: a cross-site HTML form cannot send it without a CORS preflight (CSRF defence with SameSite cookies).
  if (!/^application\/json\b/i.test(type)) throw new KnockError('bad_request', 'Send the request as application/json.');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new KnockError('too_large', `The request is too large (at most ${maxBytes} bytes).`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new KnockError('too_large', `The request is too large (at most ${maxBytes} bytes).`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S, maxBytes: number): Promise<z.infer<S>> {
  const bytes = await readJsonBytes(req, maxBytes);
  let value: unknown;
  try {
    value = bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new KnockError('bad_request', 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  return parsed.data;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown, logger: Logger, context: Record<string, unknown>): void {
  const error = asKnockError(err);
  if (error.code === 'internal') logger.error({ err, ...context }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const retry: Record<string, string> = error.code === 'rate_limited' && typeof error.data?.retryAfterMs === 'number'
    ? { 'Retry-After': String(Math.ceil(error.data.retryAfterMs / 1000)) }
    : {};
  sendJson(res, error.httpStatus, { error: error.toJSON() }, retry);
}
