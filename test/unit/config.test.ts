/** Knock's one configuration, read from the environment (engine/config.ts configFromEnv). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, configSchema } from '../../engine/config.ts';
import { KnockError } from '../../engine/errors.ts';

/** The error configFromEnv throws for `env`, or a failure if it accepts it. */
function refusal(env: Record<string, string>): KnockError {
  try {
    configFromEnv(env);
  } catch (err) {
    if (err instanceof KnockError) return err;
    throw err;
  }
  throw new Error(`configFromEnv accepted ${JSON.stringify(env)}`);
}

describe('configFromEnv', () => {
  it('runs with no environment at all, on the documented defaults', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      signupOpen: true,
      trustProxy: 0,
      logLevel: 'info',
      maxBodyBytes: 64 * 1024,
      rateLimits: configSchema.shape.rateLimits.parse(undefined),
    });
    expect(config.publicUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('./data'));
  });

  it('lets every call use TURN relays only with KNOCK_ICE_TRANSPORT_POLICY=relay (all by default)', () => {
    expect(configFromEnv({}).iceTransportPolicy).toBe('all');
    expect(configFromEnv({ KNOCK_ICE_TRANSPORT_POLICY: 'relay' }).iceTransportPolicy).toBe('relay');
  });

  it('bounds a stop by KNOCK_SHUTDOWN_TIMEOUT_MS (10 s by default) and names the variable when it is wrong', () => {
    expect(configFromEnv({}).shutdownTimeoutMs).toBe(10_000);
    expect(configFromEnv({ KNOCK_SHUTDOWN_TIMEOUT_MS: '30000' }).shutdownTimeoutMs).toBe(30_000);
    expect(refusal({ KNOCK_SHUTDOWN_TIMEOUT_MS: '10' }).message).toContain('KNOCK_SHUTDOWN_TIMEOUT_MS');
  });

  it('ignores environment variables that are not Knock\u2019s', () => {
    expect(configFromEnv({ HOME: '/root', NODE_ENV: 'production' }).port).toBe(8080);
  });

  it('reads PORT, HOST and KNOCK_DATA_DIR, making the data directory absolute', () => {
    const config = configFromEnv({ PORT: '3000', HOST: '127.0.0.1', KNOCK_DATA_DIR: 'var/knock' });
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', dataDir: path.resolve('var/knock') });
  });

  it('closes sign-up with KNOCK_SIGNUP=closed and keeps it open with KNOCK_SIGNUP=open', () => {
    expect(configFromEnv({ KNOCK_SIGNUP: 'closed' }).signupOpen).toBe(false);
    expect(configFromEnv({ KNOCK_SIGNUP: 'open' }).signupOpen).toBe(true);
  });

  it('reads yes/no style booleans', () => {
    expect(configFromEnv({ KNOCK_SECURE_COOKIES: 'off' }).secureCookies).toBe(false);
    expect(configFromEnv({ KNOCK_SECURE_COOKIES: '1' }).secureCookies).toBe(true);
  });

  it('reads how often sessions of open sockets are checked and expired ones purged', () => {
    expect(configFromEnv({})).toMatchObject({ sessionCheckIntervalMs: 2000, sessionPurgeIntervalMs: 3600_000 });
    expect(configFromEnv({ KNOCK_SESSION_CHECK_INTERVAL_MS: '5000', KNOCK_SESSION_PURGE_INTERVAL_MS: '60000' })).toMatchObject({
      sessionCheckIntervalMs: 5000,
      sessionPurgeIntervalMs: 60_000,
    });
    expect(refusal({ KNOCK_SESSION_CHECK_INTERVAL_MS: '10' }).message).toContain('KNOCK_SESSION_CHECK_INTERVAL_MS');
  });

  it('reads the per-address socket caps and the request timeouts, and refuses headers allowed longer than the request', () => {
    expect(configFromEnv({})).toMatchObject({
      maxWebSocketsPerIp: 1000,
      maxConnectionsPerIp: 1500,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5000,
    });
    expect(configFromEnv({ KNOCK_MAX_WEBSOCKETS_PER_IP: '50', KNOCK_KEEP_ALIVE_TIMEOUT_MS: '65000' })).toMatchObject({ maxWebSocketsPerIp: 50, keepAliveTimeoutMs: 65_000 });
    expect(refusal({ KNOCK_HEADERS_TIMEOUT_MS: '40000' }).message).toContain('KNOCK_HEADERS_TIMEOUT_MS');
    expect(refusal({ KNOCK_MAX_CONNECTIONS_PER_IP: '0' }).message).toContain('KNOCK_MAX_CONNECTIONS_PER_IP');
  });

  it('refuses a rate limit it does not know in KNOCK_RATE_LIMITS, naming it, rather than ignoring a misspelt one', () => {
    const error = refusal({ KNOCK_RATE_LIMITS: '{"loginsPerHandel":{"perWindow":5,"windowMs":60000}}' });
    expect(error.message).toContain('KNOCK_RATE_LIMITS');
    expect(error.message).toContain('loginsPerHandel');
  });

  it('reads KNOCK_TRUST_PROXY as a number of proxies: true is one, false none, a number that many', () => {
    expect(configFromEnv({ KNOCK_TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(configFromEnv({ KNOCK_TRUST_PROXY: 'yes' }).trustProxy).toBe(1);
    expect(configFromEnv({ KNOCK_TRUST_PROXY: 'off' }).trustProxy).toBe(0);
    expect(configFromEnv({ KNOCK_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(configFromEnv({}).trustProxy).toBe(0);
  });

  it('merges KNOCK_RATE_LIMITS into the default limits, keeping the ones it does not name', () => {
    const defaults = configSchema.shape.rateLimits.parse(undefined);
    const config = configFromEnv({ KNOCK_RATE_LIMITS: '{"socketMessages":{"perWindow":100,"windowMs":10000}}' });
    expect(config.rateLimits).toEqual({ ...defaults, socketMessages: { perWindow: 100, windowMs: 10_000 } });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['KNOCK_SIGNUP', 'maybe'],
    ['KNOCK_TRUST_PROXY', 'perhaps'],
    ['KNOCK_TRUST_PROXY', '99'],
    ['KNOCK_PUBLIC_URL', 'not a url'],
    ['KNOCK_SESSION_TTL_MS', '-5'],
    ['KNOCK_RATE_LIMITS', '{socketMessages: 100}'],
  ])('refuses %s=%s with a readable error naming the variable', (name, value) => {
    const error = refusal({ [name]: value });
    expect(error.code).toBe('bad_request');
    expect(error.message).toContain(name);
  });

  it.each([
    ['KNOCK_MAX_FRAME_BYTES', '100'],
    ['KNOCK_MAX_MESSAGE_BYTES', '10'],
    ['KNOCK_LOG_LEVEL', 'verbose'],
    ['KNOCK_RATE_LIMITS', '{"socketMessages":{"perWindow":0,"windowMs":1000}}'],
    ['KNOCK_ICE_TRANSPORT_POLICY', 'none'],
  ])('names the variable, not only the config key, when %s=%s is out of range', (name, value) => {
    // These pass the environment's own checks and fail in the config schema, whose error names `maxFrameBytes`,
    // `logLevel` or `rateLimits.socketMessages.perWindow`: an operator looks for the variable they set.
    const error = refusal({ [name]: value });
    expect(error.message).toContain(name);
  });
});

describe('configFromEnv: several processes (DATABASE_URL, REDIS_URL, KNOCK_PUBLIC_ADDRESS)', () => {
  it('runs alone on SQLite and in-process presence when none is set', () => {
    const config = configFromEnv({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.publicAddress).toBeUndefined();
    expect(config.databaseSchema).toBe('public');
    expect(config.presenceTtlMs).toBe(6000);
  });

  it('reads a cluster member\u2019s settings', () => {
    const config = configFromEnv({
      DATABASE_URL: 'postgres://knock:secret@db.internal:5432/knock',
      KNOCK_DATABASE_SCHEMA: 'knock_eu',
      REDIS_URL: 'redis://redis.internal:6379/2',
      KNOCK_PUBLIC_ADDRESS: 'chat.example.com/p1',
      KNOCK_PRESENCE_TTL_MS: '9000',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://knock:secret@db.internal:5432/knock',
      databaseSchema: 'knock_eu',
      redisUrl: 'redis://redis.internal:6379/2',
      publicAddress: 'chat.example.com/p1',
      presenceTtlMs: 9000,
    });
  });

  it('refuses REDIS_URL without KNOCK_PUBLIC_ADDRESS, saying what to set', () => {
    const error = refusal({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(error.message).toContain('KNOCK_PUBLIC_ADDRESS');
    expect(error.message).toContain('REDIS_URL');
  });

  it.each(['10.0.0.5:8080', 'chat.example.com', 'chat.example.com/p1', 'chat.example.com:443/knock/p2', '[::1]:8080'])(
    'takes %s as a public address',
    (address) => {
      expect(configFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379', KNOCK_PUBLIC_ADDRESS: address }).publicAddress).toBe(address);
    },
  );

  it.each([
    ['DATABASE_URL', 'mysql://knock@db/knock'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['KNOCK_DATABASE_SCHEMA', '1st'],
    ['KNOCK_DATABASE_SCHEMA', 'knock"; DROP'],
    ['KNOCK_PUBLIC_ADDRESS', 'https://chat.example.com'],
    ['KNOCK_PUBLIC_ADDRESS', 'chat.example.com/p1/'],
    ['KNOCK_PRESENCE_TTL_MS', '500'],
  ])('refuses %s=%s with an error naming the variable', (name, value) => {
    expect(refusal({ [name]: value }).message).toContain(name);
  });

  it('never repeats the database password in an error', () => {
    const error = refusal({ DATABASE_URL: 'mysql://knock:hunter2@db/knock' });
    expect(error.message).not.toContain('hunter2');
  });
});
