/**
 * A session ended by the CLI while the owner's sockets are spread over two processes (issue 13): the owner's console
 * on process A, the owner's conversation on process B (PostgreSQL and Redis shared, README "Running several
 * processes"). Each process checks the sessions of its own sockets, so both close as logged out within seconds.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { CloseCode } from '../../engine/errors.ts';
import { Person, waitFor } from '../support/clients.ts';
import { knockCli } from '../support/knockCli.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { TestRedis } from '../support/redisDatabase.ts';

const CLOSES_WITHIN_MS = 5000;
const schemas = new TestSchemas();
const processes: KnockProcess[] = [];
const people: Person[] = [];
let redis: TestRedis | undefined;
let schema: string | undefined;

afterEach(async () => {
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
  await Promise.all(processes.splice(0).map((p) => p.dispose()));
  await redis?.release();
  redis = undefined;
  if (schema) await schemas.drop(schema);
  schema = undefined;
});
afterAll(() => schemas.end());

function person(base: string): Person {
  const p = new Person(base);
  people.push(p);
  return p;
}

describe('several processes', () => {
  it('close the owner\u2019s sockets on every process within seconds when the CLI changes the password', async () => {
    schema = newSchemaName();
    redis = await TestRedis.claim();
    const cluster = { databaseUrl: testDatabaseUrl, databaseSchema: schema, redisUrl: redis.url };
    const env = { KNOCK_SESSION_CHECK_INTERVAL_MS: '500' };
    const a = await KnockProcess.create({ cluster, env });
    const b = await KnockProcess.create({ cluster, env });
    processes.push(a, b);
    await a.addUser('alice', 'Alice');
    await Promise.all([a.start(), b.start()]);

    const aliceOnA = person(a.url);
    await aliceOnA.login('alice');
    const console_ = aliceOnA.ownerSession('alice');
    await waitFor(console_, (s) => s.connection === 'live', 'console live on A');
    // The conversation's room is made by B, where its first client (the visitor) was matched.
    const { session: visitorChat, conversationId } = await person(b.url).knock('alice', 'Vic');
    await waitFor(visitorChat, (s) => s.connection === 'live', 'visitor live on B');
    const aliceOnB = person(b.url);
    aliceOnB.cookies.set(SESSION_COOKIE, aliceOnA.sessionToken!);
    const ownerChat = aliceOnB.conversation(conversationId);
    await waitFor(ownerChat, (s) => s.connection === 'live', 'owner conversation live on B');

    const run = await knockCli(['user', 'passwd', 'alice', '--password-stdin'], { DATABASE_URL: testDatabaseUrl, KNOCK_DATABASE_SCHEMA: schema }, 'a brand new password\n');
    expect(run).toMatchObject({ code: 0, stderr: '' });

    await waitFor(console_, (s) => s.connection === 'closed', 'console on A closed', CLOSES_WITHIN_MS);
    expect(console_.endReason).toMatchObject({ code: CloseCode.loggedOut });
    await waitFor(ownerChat, (s) => s.connection === 'closed', 'owner conversation on B closed', CLOSES_WITHIN_MS);
    expect(visitorChat.snapshot().connection).toBe('live');
  });
});
