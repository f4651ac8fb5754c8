/**
 * The people of an integration test: fresh owners (a new account per test, so tests do not see each other's
 * conversations) and visitors, all closed together. Also the rate limits those tests run with: the HTTP limits
 * per IP are raised because every test person comes from 127.0.0.1 (those limits have their own tests).
 *
 * @example
 *   const cast = new Cast(knock);
 *   const { handle, person: alice } = await cast.owner('Alice');
 *   const bob = cast.visitor();
 *   afterEach(() => cast.closeAll());
 */
import { configSchema, type KnockConfig } from '../../engine/config.ts';
import { Person } from './clients.ts';
import type { TestKnock } from './knockServer.ts';

type RateLimits = KnockConfig['rateLimits'];

/**
 * `pingIntervalMs` for servers whose tests do not need dead-socket detection by ping: client and server share the
 * test process, and on a loaded machine a healthy socket can miss its pong and be cut (a bare room never comes back).
 * Sockets are broken on purpose instead (netProxy); detection by ping has its own test (presence.test.ts).
 */
export const NO_PINGS = 0;

/** The default limits, with per-IP HTTP limits out of the way, and `overrides` on top. */
export function testRateLimits(overrides: Partial<RateLimits> = {}): RateLimits {
  const defaults = configSchema.shape.rateLimits.parse(undefined);
  const many = { perWindow: 10_000, windowMs: 60_000 };
  return { ...defaults, knocksPerIp: many, knocksPerTarget: many, loginsPerIp: many, loginsPerHandle: many, ...overrides };
}

export class Cast {
  private readonly people: Person[] = [];
  private count = 0;

  constructor(private readonly knock: TestKnock) {}

  /** A new account with a handle no other test uses, and a Person logged in to it. */
  async owner(displayName: string, base = this.knock.url): Promise<{ handle: string; person: Person }> {
    const handle = `${displayName.toLowerCase().replace(/[^a-z0-9]/g, '') || 'owner'}-${process.pid}-${++this.count}`;
    await this.knock.addUser(handle, displayName);
    return { handle, person: await this.device(handle, base) };
  }

  /** Another device of an existing owner: its own login, its own cookies. */
  async device(handle: string, base = this.knock.url): Promise<Person> {
    const person = this.visitor(base);
    await person.login(handle);
    return person;
  }

  visitor(base = this.knock.url): Person {
    const person = new Person(base);
    this.people.push(person);
    return person;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.people.splice(0).map((p) => p.closeAll()));
  }
}
