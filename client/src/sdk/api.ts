/** The JSON API, for the browser (same-origin cookies) and for Node tests (an explicit base and cookie jar). */
import {
  knockAnswer,
  profileAnswer,
  visitorConversation,
  type KnockAnswer,
  type ProfileAnswer,
  type VisitorConversation,
} from '../../../engine/protocol.ts';
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
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
  async function call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S | null): Promise<z.infer<S>> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
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
    const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!res.ok) {
      throw new ApiError(json?.error?.code ?? 'internal', json?.error?.message ?? `The server answered ${res.status}.`, res.status);
    }
    if (!schema) return json as z.infer<S>;
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiError('internal', 'The server sent an answer this page does not understand.', res.status);
    return parsed.data;
  }

  return {
    profile(handle: string, resumeToken?: string): Promise<ProfileAnswer> {
      const query = resumeToken ? `?resume=${encodeURIComponent(resumeToken)}` : '';
      return call('GET', `/_/api/profile/${encodeURIComponent(handle)}${query}`, undefined, profileAnswer);
    },
    /** Continues the conversation of a resume link in this browser (it becomes the one the browser holds with `handle`). */
    resume(handle: string, token: string): Promise<VisitorConversation> {
      return call('POST', `/_/api/u/${encodeURIComponent(handle)}/resume`, { token }, visitorConversation);
    },
    knock(handle: string, name?: string): Promise<KnockAnswer> {
      return call('POST', `/_/api/u/${encodeURIComponent(handle)}/knock`, name ? { name } : {}, knockAnswer);
    },
    async login(handle: string, password: string): Promise<void> {
      await call('POST', '/_/api/login', { handle, password }, null);
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
