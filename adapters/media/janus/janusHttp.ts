/**
 * A small client of Janus's HTTP API (the "REST" transport), enough to manage VideoRoom rooms from the server:
 * a session and a plugin handle per operation, synchronous plugin requests, then the session is destroyed. No
 * long-lived session means nothing to keep alive and nothing to lose when Janus restarts. Every answer is checked
 * with zod before it is believed (CONVENTIONS: adapter payloads are validated).
 *
 * Janus's API speaks to anyone who reaches it; this client is meant for its loopback address (README.md).
 */
import { randomBytes, createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../../engine/ports/clock.ts';

const janusId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const successAnswer = z.object({ janus: z.literal('success'), data: z.object({ id: janusId }) });
const errorAnswer = z.object({ janus: z.literal('error'), error: z.object({ code: z.number(), reason: z.string() }) });
const pluginAnswer = z.object({
  janus: z.literal('success'),
  plugindata: z.object({ plugin: z.string(), data: z.record(z.string(), z.unknown()) }),
});
const pluginError = z.object({ error_code: z.number(), error: z.string() });

/** A refusal from Janus or one of its plugins, with Janus's own code (e.g. VideoRoom 426: no such room). */
export class JanusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`Janus ${code}: ${message}`);
    this.name = 'JanusError';
  }
}

/** VideoRoom error codes the adapter tells apart (janus_videoroom.c). */
export const VideoRoomError = { noSuchRoom: 426, unauthorized: 433 } as const;

export interface JanusHttpOptions {
  /** e.g. http://127.0.0.1:8088/janus */
  url: string;
  /** Janus's `token_auth_secret`, when it requires signed tokens: each request then carries one, signed here. */
  tokenSecret?: string | undefined;
  timeoutMs: number;
  clock: Clock;
}

/**
 * A Janus signed token (core `token_auth` with `token_auth_secret`) for the given plugins, valid until `expiresAtMs`:
 * "<expiry unix seconds>,janus,<plugin>[,<plugin>...]:<base64 HMAC-SHA1 of what precedes the colon>", the format
 * Janus 1.1 checks (auth.c).
 */
export function signJanusToken(secret: string, expiresAtMs: number, plugins: readonly string[]): string {
  const data = [String(Math.floor(expiresAtMs / 1000)), 'janus', ...plugins].join(',');
  return `${data}:${createHmac('sha1', secret).update(data).digest('base64')}`;
}

export type PluginRequest = (body: Record<string, unknown>) => Promise<Record<string, unknown>>;

export class JanusHttp {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: JanusHttpOptions) {}

  /** Attaches to `plugin` in a fresh session, runs `work` with a function sending synchronous plugin requests. */
  async withPlugin<T>(plugin: string, work: (request: PluginRequest) => Promise<T>): Promise<T> {
    const session = successAnswer.parse(await this.post('', { janus: 'create' })).data.id;
    try {
      const handle = successAnswer.parse(await this.post(`/${session}`, { janus: 'attach', plugin })).data.id;
      return await work(async (body) => {
        const answer = pluginAnswer.parse(await this.post(`/${session}/${handle}`, { janus: 'message', body }));
        const failed = pluginError.safeParse(answer.plugindata.data);
        if (failed.success) throw new JanusError(failed.data.error_code, failed.data.error);
        return answer.plugindata.data;
      });
    } finally {
      await this.post(`/${session}`, { janus: 'destroy' }).catch(() => undefined);
    }
  }

  /** Aborts requests under way; later ones fail at once. */
  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
  }

  private async post(path: string, message: Record<string, unknown>): Promise<unknown> {
    if (this.closed) throw new Error('the Janus client is closed');
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error(`Janus did not answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    try {
      const body: Record<string, unknown> = { ...message, transaction: randomBytes(9).toString('base64url') };
      if (this.options.tokenSecret !== undefined) {
        body.token = signJanusToken(this.options.tokenSecret, this.options.clock.now() + 60_000, ['janus.plugin.videoroom']);
      }
      const response = await fetch(`${this.options.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const answer: unknown = await response.json();
      const refused = errorAnswer.safeParse(answer);
      if (refused.success) throw new JanusError(refused.data.error.code, refused.data.error.reason);
      return answer;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}
