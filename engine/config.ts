/**
 * Knock's one configuration (CONVENTIONS 10): a zod schema with defaults, read from the environment in one place
 * (`configFromEnv`, called by the entry points only). Durations are in milliseconds, sizes in bytes.
 * The README's "Configuration" section documents every variable below; keep them in step.
 */
import path from 'node:path';
import { z } from 'zod';
import { KnockError } from './errors.ts';
import { describeIssues } from './protocol.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `postgres://` or `postgresql://` URLs; the value is never echoed in errors (it may hold a password). */
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' });
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });
/** What PostgresStorage accepts as a schema name (adapters/storage/postgres/migrate.ts). */
const schemaName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'use letters, digits and underscores (at most 63), not starting with a digit');
/**
 * host[:port][/path] as clients reach this process, no scheme: Colyseus builds room sockets as
 * `ws(s)://<publicAddress>/<processId>/<roomId>` (the scheme follows the page's).
 */
const publicAddress = z
  .string()
  .regex(
    /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(\/[A-Za-z0-9._~-]+)*$/,
    'must be host[:port][/path] without a scheme or a trailing slash, e.g. chat.example.com/_/p1 or 10.0.0.5:8080',
  );

const rate = z.object({ perWindow: z.number().int().positive(), windowMs: z.number().int().positive() });
export type RateLimitConfig = z.infer<typeof rate>;

export const configSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().default('0.0.0.0'),
  dataDir: z.string().default('./data'),
  /** The address people use, e.g. https://chat.example.com. Used for WebSocket Origin checks and links. */
  publicUrl: z.url().optional(),
  /** Self sign-up at /_/signup. */
  signupOpen: z.boolean().default(true),
  /** Trust X-Forwarded-For / X-Real-IP from a reverse proxy for client addresses (rate limits). */
  trustProxy: z.boolean().default(false),
  /** Cookies get `Secure` (HTTPS deployments). Defaults to true when publicUrl is https. */
  secureCookies: z.boolean().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  sessionTtlMs: z.number().int().positive().default(30 * 24 * 3600_000),
  /** Largest WebSocket frame accepted at all; bigger frames close the socket (1009). */
  maxFrameBytes: z.number().int().min(4096).default(4 * 1024 * 1024),
  /** Largest room message handled; bigger ones (up to maxFrameBytes) get a `too_large` error, the socket stays. */
  maxMessageBytes: z.number().int().min(1024).default(64 * 1024),
  /** Largest HTTP JSON body. */
  maxBodyBytes: z.number().int().min(1024).default(64 * 1024),
  /** Server pings every socket this often; one missed pong closes it (owner presence turns offline). */
  pingIntervalMs: z.number().int().min(0).default(800),
  rateLimits: z
    .object({
      /** Messages one connection may send (token bucket: perWindow tokens refilled over windowMs). */
      socketMessages: rate.default({ perWindow: 30, windowMs: 10_000 }),
      /** Typing and receipt signals per connection. */
      socketSignals: rate.default({ perWindow: 60, windowMs: 10_000 }),
      /** Conversations a single IP may start. */
      knocksPerIp: rate.default({ perWindow: 10, windowMs: 60_000 }),
      /** Conversations anyone may start with one owner. */
      knocksPerTarget: rate.default({ perWindow: 120, windowMs: 60_000 }),
      /** Login attempts per IP and per handle. */
      loginsPerIp: rate.default({ perWindow: 20, windowMs: 60_000 }),
      loginsPerHandle: rate.default({ perWindow: 10, windowMs: 60_000 }),
      signupsPerIp: rate.default({ perWindow: 5, windowMs: 3600_000 }),
    })
    .default({
      socketMessages: { perWindow: 30, windowMs: 10_000 },
      socketSignals: { perWindow: 60, windowMs: 10_000 },
      knocksPerIp: { perWindow: 10, windowMs: 60_000 },
      knocksPerTarget: { perWindow: 120, windowMs: 60_000 },
      loginsPerIp: { perWindow: 20, windowMs: 60_000 },
      loginsPerHandle: { perWindow: 10, windowMs: 60_000 },
      signupsPerIp: { perWindow: 5, windowMs: 3600_000 },
    }),
  /** PostgreSQL for everything durable (several processes share it); absent: SQLite under dataDir. */
  databaseUrl: postgresUrl.optional(),
  /** The PostgreSQL schema holding Knock's tables (created if missing), so one database can hold several Knocks. */
  databaseSchema: schemaName.default('public'),
  /** Redis for Colyseus presence and matchmaking across processes; absent: in-process (one process only). */
  redisUrl: redisUrl.optional(),
  /** This process's address as clients reach it for room sockets (required with redisUrl). */
  publicAddress: publicAddress.optional(),
  /**
   * How long the owner's "online" survives without its process renewing it (renewed every third of it). A process
   * that dies without a word (SIGKILL, power cut) leaves visitors seeing "online" for at most this plus a third.
   */
  presenceTtlMs: z.number().int().min(3000).max(600_000).default(6000),
  /** Directory with the built browser app (client/dist). Built by `npm start` / the test setup. */
  assetsDir: z.string().optional(),
}).superRefine((config, ctx) => {
  // Colyseus routes a room's sockets to the one process holding it by this address; without it, a client matched
  // by another process gets "seat reservation expired".
  if (config.redisUrl !== undefined && config.publicAddress === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['publicAddress'],
      message: 'is required when REDIS_URL is set (several processes): the address clients reach this process at, e.g. chat.example.com/_/p1 or 10.0.0.5:8080',
    });
  }
});
export type KnockConfig = z.infer<typeof configSchema>;
export type KnockConfigInput = z.input<typeof configSchema>;

export function parseConfig(input: KnockConfigInput): KnockConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new KnockError('bad_request', `Invalid configuration: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Every environment variable Knock reads, with its config key. */
const envKeys = {
  PORT: 'port',
  HOST: 'host',
  KNOCK_DATA_DIR: 'dataDir',
  KNOCK_PUBLIC_URL: 'publicUrl',
  KNOCK_SIGNUP: 'signupOpen',
  KNOCK_TRUST_PROXY: 'trustProxy',
  KNOCK_SECURE_COOKIES: 'secureCookies',
  KNOCK_LOG_LEVEL: 'logLevel',
  KNOCK_SESSION_TTL_MS: 'sessionTtlMs',
  KNOCK_MAX_FRAME_BYTES: 'maxFrameBytes',
  KNOCK_MAX_MESSAGE_BYTES: 'maxMessageBytes',
  KNOCK_PING_INTERVAL_MS: 'pingIntervalMs',
  KNOCK_RATE_LIMITS: 'rateLimits',
  DATABASE_URL: 'databaseUrl',
  KNOCK_DATABASE_SCHEMA: 'databaseSchema',
  REDIS_URL: 'redisUrl',
  KNOCK_PUBLIC_ADDRESS: 'publicAddress',
  KNOCK_PRESENCE_TTL_MS: 'presenceTtlMs',
} as const;

const envSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  KNOCK_DATA_DIR: z.string().min(1).optional(),
  KNOCK_PUBLIC_URL: z.url().optional(),
  KNOCK_SIGNUP: z.enum(['open', 'closed']).transform((v) => v === 'open').optional(),
  KNOCK_TRUST_PROXY: bool.optional(),
  KNOCK_SECURE_COOKIES: bool.optional(),
  KNOCK_LOG_LEVEL: z.string().optional(),
  KNOCK_SESSION_TTL_MS: z.coerce.number().int().positive().optional(),
  KNOCK_MAX_FRAME_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_MESSAGE_BYTES: z.coerce.number().int().optional(),
  KNOCK_PING_INTERVAL_MS: z.coerce.number().int().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  KNOCK_DATABASE_SCHEMA: z.string().min(1).optional(),
  REDIS_URL: z.string().min(1).optional(),
  KNOCK_PUBLIC_ADDRESS: z.string().min(1).optional(),
  KNOCK_PRESENCE_TTL_MS: z.coerce.number().int().optional(),
  /** JSON, e.g. {"socketMessages":{"perWindow":100,"windowMs":10000}}: overrides some limits, keeps the rest. */
  KNOCK_RATE_LIMITS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'KNOCK_RATE_LIMITS must be JSON.' });
        return z.NEVER;
      }
    })
    .optional(),
});

/** Reads the environment; the only place in Knock that looks at process.env (its caller passes it in). */
export function configFromEnv(env: Record<string, string | undefined>): KnockConfig {
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) throw new KnockError('bad_request', `Invalid environment: ${describeIssues(parsedEnv.error)}`);
  const input: Record<string, unknown> = {};
  for (const [envName, key] of Object.entries(envKeys)) {
    const value = parsedEnv.data[envName as keyof typeof envKeys];
    if (value !== undefined) input[key] = value;
  }
  if (input.rateLimits !== undefined) {
    const defaults = configSchema.shape.rateLimits.parse(undefined);
    input.rateLimits = { ...defaults, ...(input.rateLimits as object) };
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    // Name the variable the operator set, not only the config key it feeds.
    const key = parsed.error.issues[0]?.path[0];
    const envName = Object.entries(envKeys).find(([, k]) => k === key)?.[0];
    throw new KnockError('bad_request', `Invalid environment: ${envName ? `${envName}: ` : ''}${describeIssues(parsed.error)}`);
  }
  const config = parsed.data;
  return { ...config, dataDir: path.resolve(config.dataDir) };
}
