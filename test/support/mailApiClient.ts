/**
 * The email API (engine/http/mailApi.ts) from tests, as its clients use it: a mail device's login and token
 * (`Authorization: Bearer knd_...`, what `npx knock mail` sends) or the console's cookies, and the limits those tests
 * run with (the per-address and per-account ones out of the way: they have tests of their own).
 *
 * @example
 *   const device = await deviceLogin(knock.url, 'alice');
 *   const res = await call(knock.url, 'GET', '/_/api/settings', { token: device.token });
 */
import type { z } from 'zod';
import type { KnockConfig } from '../../engine/config.ts';
import type { deviceLoginAnswer } from '../../engine/protocol.ts';
import { testRateLimits } from './cast.ts';
import { TEST_PASSWORD } from './knockServer.ts';

export type DeviceLogin = z.infer<typeof deviceLoginAnswer>;

const many = { perWindow: 10_000, windowMs: 60_000 };

/** The integration tests' limits (testRateLimits) with the mail API's out of the way too, then `overrides`. */
export function mailTestRateLimits(overrides: Partial<KnockConfig['rateLimits']> = {}): KnockConfig['rateLimits'] {
  return testRateLimits({ loginsPerHandleAndIp: many, socketMessages: many, uploadsPerIp: many, newEmailsPerAccount: many, mailLinksPerIp: many, ...overrides });
}

/** Who calls: a device's token, a browser's cookies (the console), or nobody. */
export interface Caller {
  token?: string;
  headers?: Record<string, string>;
}

/** A JSON request (a string body is sent as it is). */
export function call(base: string, method: string, path: string, caller: Caller = {}, body?: unknown): Promise<Response> {
  return fetch(base + path, {
    method,
    headers: {
      ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...caller.headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** Logs a mail device in (POST /_/api/devices) and checks it worked. */
export async function deviceLogin(base: string, handle: string, name = 'laptop', password = TEST_PASSWORD): Promise<DeviceLogin> {
  const res = await call(base, 'POST', '/_/api/devices', {}, { handle, password, name });
  if (res.status !== 201) throw new Error(`device login of ${handle}: ${res.status} ${await res.text()}`);
  return (await res.json()) as DeviceLogin;
}

/** The `error` of a refusal. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}
