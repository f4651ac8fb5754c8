// `npm test` runs this first. Some tests drive real programs from Debian's packages: Chromium (end-to-end tests),
// Janus (the conference server of calls), coturn (TURN for calls), swaks (test mail), Prosody (the XMPP channel), dig (Knock's DNS server), Pebble (Let's Encrypt's test CA, for ACME certificates), and PostgreSQL and Redis (scale-out and the
// PostgreSQL storage), the last two only when the run has none to use already (KNOCK_TEST_DATABASE_URL /
// KNOCK_TEST_REDIS_URL unset and nothing answering at 127.0.0.1:5432 / :6379; test/support/throwawayServices.ts then
// starts throwaway ones). When one is missing and we are root, install it from Debian's packages (nothing is
// downloaded from anywhere else); otherwise say which command to run.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';

// Another install (a second checkout's, unattended upgrades) may hold dpkg's lock: wait for it instead of failing.
const APT_WAIT_FOR_LOCK = ['-o', 'DPkg::Lock::Timeout=600'];

/** True when something accepts a TCP connection on 127.0.0.1:port within a second. */
function answers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

const postgresInstalled = () =>
  existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));

/** Debian package -> how to see it is installed, and what it is for. */
const needed = [
  { pkg: 'chromium', installed: () => existsSync('/usr/bin/chromium'), extra: ['fonts-dejavu-core'], why: 'the end-to-end tests' },
  { pkg: 'janus', installed: () => existsSync('/usr/bin/janus'), extra: [], why: 'conference calls (Janus VideoRoom)' },
  { pkg: 'coturn', installed: () => existsSync('/usr/bin/turnserver'), extra: [], why: 'TURN credentials for calls' },
  { pkg: 'swaks', installed: () => existsSync('/usr/bin/swaks'), extra: [], why: 'sending test mail to Knock\u2019s SMTP server' },
  { pkg: 'prosody', installed: () => existsSync('/usr/bin/prosody'), extra: [], why: 'the XMPP server of the XMPP channel tests and the bench' },
  { pkg: 'ejabberd', installed: () => existsSync('/usr/sbin/ejabberdctl') && existsSync('/usr/lib/erlang/lib') && readdirSync('/usr/lib/erlang/lib').some((d) => d.startsWith('p1_sqlite3-') || d.startsWith('sqlite3-')), extra: ['erlang-p1-sqlite3'], why: 'the XMPP server the bench (and its smoke test) compares Knock with' },
  { pkg: 'dnsutils', installed: () => existsSync('/usr/bin/dig'), extra: [], why: 'dig, querying Knock\u2019s DNS server' },
  { pkg: 'pebble', installed: () => existsSync('/usr/bin/pebble'), extra: [], why: 'the ACME test CA that issues certificates for own domains' },
];
if (!process.env.KNOCK_TEST_DATABASE_URL && !(await answers(5432))) {
  needed.push({ pkg: 'postgresql', installed: postgresInstalled, extra: [], why: 'a throwaway PostgreSQL for the PostgreSQL and scale-out tests' });
}
if (!process.env.KNOCK_TEST_REDIS_URL && !(await answers(6379))) {
  needed.push({ pkg: 'redis-server', installed: () => existsSync('/usr/bin/redis-server'), extra: [], why: 'a throwaway Redis for the scale-out tests' });
}

const missing = needed.filter((n) => !n.installed());
if (missing.length > 0) {
  const packages = missing.flatMap((n) => [n.pkg, ...n.extra]);
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    for (const n of missing) console.error(`${n.pkg} is missing, needed for ${n.why}.`);
    console.error(`Install: sudo apt-get update && sudo ${command}`);
    process.exit(1);
  }
  console.log(`Installing Debian's ${missing.map((n) => n.pkg).join(', ')} for the tests (about a minute)...`);
  // apt starts no services here (policy-rc.d); the tests start what they need themselves, on 127.0.0.1.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}
