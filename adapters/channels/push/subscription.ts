/**
 * A browser's push subscription, as the console sends it when the owner presses "Notify me on this device": the JSON
 * of `PushSubscription.toJSON()`, `{ endpoint, expirationTime, keys: { p256dh, auth } }`. It comes from a browser,
 * so it is checked like any user input (sizes, https, key lengths, a real P-256 point) before it is stored, and each
 * failure is said in words. Stored as an owner channel of kind `push`: the endpoint is its `address`, the two keys
 * its `secret` (JSON `{"p256dh": ..., "auth": ...}`).
 *
 * @example
 *   const subscription = parseSubscription(await request.json()); // throws SubscriptionError
 *   await storage.addChannel({ kind: 'push', verified: true, ...storedSubscription(subscription) });
 *   ...
 *   const again = subscriptionOf(channel); // at send time, from the stored channel
 */
import { z } from 'zod';
import type { OwnerChannel } from '../../../engine/ports/channel.ts';
import { isForbiddenAddress, literalAddress } from '../webhook/addressPolicy.ts';
import { base64urlOfLength, isP256Point } from './vapid.ts';

/** The longest endpoint taken. Real ones (FCM, Mozilla autopush, Apple, WNS) are 150 to 600 characters. */
export const MAX_ENDPOINT_LENGTH = 2048;

/** A subscription as web-push takes it; `expirationTime` is the browser's (milliseconds since the epoch), or null. */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

/** What `parseSubscription` may let through for tests; production passes nothing. */
export interface SubscriptionPolicy {
  /** Allow http: endpoints. Tests only (the loopback push service); production keeps it off. */
  allowHttp?: boolean;
  /** Allow endpoints at a literal loopback, private... address or `localhost`. Tests only (SSRF otherwise). */
  allowPrivateNetworks?: boolean;
}

/** A subscription that cannot be used; `message` names the field and what is wrong with it. */
export class SubscriptionError extends Error {
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

/** The two keys of a subscription, as the browser gives them: the stored secret too. */
const subscriptionKeys = z.object(
  {
    /** The browser's ECDH public key (an uncompressed P-256 point), which the payload is encrypted to. */
    p256dh: base64urlOfLength('keys.p256dh', 65).refine(
      (key) => isP256Point(Buffer.from(key, 'base64url')),
      'keys.p256dh must be an uncompressed P-256 point (65 bytes starting 0x04, on the curve).',
    ),
    /** The browser's 16-byte authentication secret (RFC 8291). */
    auth: base64urlOfLength('keys.auth', 16),
  },
  { error: 'keys must be an object {"p256dh": ..., "auth": ...}.' },
);

function subscriptionSchema(policy: SubscriptionPolicy) {
  return z.object(
    {
      endpoint: z
        .string({ error: 'endpoint must be a string: the push service URL the browser gave.' })
        .min(1, 'endpoint must not be empty.')
        .max(MAX_ENDPOINT_LENGTH, `endpoint is at most ${MAX_ENDPOINT_LENGTH} characters.`)
        .superRefine((endpoint, context) => {
          const problem = endpointProblem(endpoint, policy);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        }),
      expirationTime: z
        .number({ error: 'expirationTime must be a number (milliseconds since the epoch) or null.' })
        .int('expirationTime must be whole milliseconds.')
        .nonnegative('expirationTime must not be negative.')
        .nullable()
        .optional(),
      keys: subscriptionKeys,
    },
    { error: 'The subscription must be an object {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}: send subscription.toJSON().' },
  );
}

/** Why an endpoint is refused, or null. Host names are resolved (and checked) only when sending. */
function endpointProblem(endpoint: string, policy: SubscriptionPolicy): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'endpoint is not a URL.';
  }
  const protocols = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!protocols.includes(url.protocol)) return `endpoint must be an https:// URL; got ${url.protocol}//.`;
  if (url.username || url.password) return 'endpoint must not hold a user name or password.';
  if (!policy.allowPrivateNetworks) {
    const literal = literalAddress(url.hostname);
    const local = url.hostname === 'localhost' || url.hostname.endsWith('.localhost');
    if (local || (literal !== null && isForbiddenAddress(literal))) {
      return `endpoint is at ${url.hostname}, a loopback, private, link-local or otherwise non-public address: Knock does not call those.`;
    }
  }
  return null;
}

/**
 * Reads a subscription from the browser (the parsed JSON of `subscription.toJSON()`). Unknown fields are dropped;
 * `expirationTime` absent reads as null. Throws SubscriptionError with every problem found.
 */
export function parseSubscription(input: unknown, policy: SubscriptionPolicy = {}): PushSubscriptionJson {
  const parsed = subscriptionSchema(policy).safeParse(input);
  if (!parsed.success) throw new SubscriptionError(issuesText(parsed.error.issues));
  const { endpoint, expirationTime, keys } = parsed.data;
  return { endpoint, expirationTime: expirationTime ?? null, keys: { p256dh: keys.p256dh, auth: keys.auth } };
}

/** The owner channel's `address` and `secret` for a subscription. */
export function storedSubscription(subscription: PushSubscriptionJson): { address: string; secret: string } {
  return { address: subscription.endpoint, secret: JSON.stringify({ p256dh: subscription.keys.p256dh, auth: subscription.keys.auth }) };
}

/** The subscription a stored push channel holds; SubscriptionError (permanent) if its address or keys are damaged. */
export function subscriptionOf(channel: Pick<OwnerChannel, 'address' | 'secret'>, policy: SubscriptionPolicy = {}): PushSubscriptionJson {
  let keys: unknown;
  try {
    keys = JSON.parse(channel.secret ?? '');
  } catch {
    throw new SubscriptionError('The push channel has no keys (its secret is not JSON {"p256dh": ..., "auth": ...}): subscribe the device again.');
  }
  return parseSubscription({ endpoint: channel.address, keys }, policy);
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.map(String).join('.');
      // The schema's messages name their field; zod's own ("Invalid input: expected string") do not.
      return field === '' || issue.message.startsWith(field) || issue.message.startsWith('The ') ? issue.message : `${field}: ${issue.message}`;
    })
    .join(' ');
}
