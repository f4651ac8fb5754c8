// `npm test` runs this first: the end-to-end tests drive Debian's Chromium. When it is missing and we are root,
// install it from Debian's packages (nothing is downloaded from anywhere else); otherwise say what to do.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0) {
    console.error(`Chromium is missing (${CHROMIUM}). Install it: sudo apt-get install -y --no-install-recommends chromium`);
    process.exit(1);
  }
  console.log('Installing Debian\'s chromium for the end-to-end tests (about a minute)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], { stdio: 'inherit', env });
}
