// `npm test` runs this first. Some tests drive real programs from Debian's packages: Chromium (end-to-end tests),
// Janus (the conference server of calls) and coturn (TURN for calls). When one is missing and we are root, install
// it from Debian's packages (nothing is downloaded from anywhere else); otherwise say which command to run.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Debian package -> a file that shows it is installed, and what it is for. */
const needed = [
  { pkg: 'chromium', file: '/usr/bin/chromium', extra: ['fonts-dejavu-core'], why: 'the end-to-end tests' },
  { pkg: 'janus', file: '/usr/bin/janus', extra: [], why: 'conference calls (Janus VideoRoom)' },
  { pkg: 'coturn', file: '/usr/bin/turnserver', extra: [], why: 'TURN credentials for calls' },
];

const missing = needed.filter((n) => !existsSync(n.file));
if (missing.length > 0) {
  const packages = missing.flatMap((n) => [n.pkg, ...n.extra]);
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    for (const n of missing) console.error(`${n.pkg} is missing (${n.file}), needed for ${n.why}.`);
    console.error(`Install: sudo apt-get update && sudo ${command}`);
    process.exit(1);
  }
  console.log(`Installing Debian's ${missing.map((n) => n.pkg).join(', ')} for the tests (about a minute)...`);
  // apt starts no services here (policy-rc.d); the tests start Janus and coturn themselves, on 127.0.0.1.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}
