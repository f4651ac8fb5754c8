// Builds mediasoup's worker (the C++ media process conferences run in) against Debian's libraries, once per mediasoup
// version, and points mediasoup at it. `npm install` runs it (postinstall); `npm run sfu:worker` runs it again.
// Plain JavaScript so it runs with nothing but Node, before anything is compiled.
//
// mediasoup's own install step is turned off (package.json `allowScripts`): it pip-installs a pinned meson that then
// downloads every library from GitHub, which machines like ours cannot reach. Instead (shared/RECIPES.md "mediasoup"):
//   1. Debian's build packages, installed when missing and we are root (apt reaches Debian's mirror only);
//   2. meson and ninja from pip's index (Debian's meson 1.0 is older than mediasoup's 1.1);
//   3. mediasoup's worker sources copied to a scratch directory, every meson wrap replaced by a tiny subproject that
//      wraps Debian's library (systemSubprojects.mjs), and Knock's one fix applied (workerPatches.mjs: without it the
//      worker dies in Debian's libssl, built with kernel TLS, at a browser's DTLS handshake);
//   4. built with mediasoup's Makefile, stripped, and kept in the user's cache, keyed by mediasoup version, the
//      patches' revision and machine:
//        ${XDG_CACHE_HOME:-~/.cache}/knock/mediasoup-worker-<version>-k<revision>-<platform>-<arch>/mediasoup-worker
//      Outside the repository so a fresh clone, `npm ci` (which empties node_modules) or a second checkout reuses it
//      instead of spending minutes; not under KNOCK_DATA_DIR, which is run-time configuration read by the server (not
//      known at install time) and holds what is backed up, while this is a build product that can always be remade.
//   5. linked at mediasoup's default path (worker/out/Release/mediasoup-worker), so nothing needs setting at run time.
//
// It never fails `npm install`: Knock runs without it (calls of three or more then go through Janus when configured,
// or stay peer-to-peer up to the mesh limit). When it cannot build it says plainly what is missing and exits 0.
//
//   node adapters/media/mediasoup/build/buildWorker.mjs        # build or reuse, then link
//   KNOCK_MEDIASOUP_BUILD=skip npm install                     # no conference server wanted: skip it
//   MEDIASOUP_WORKER_BIN=/path/to/mediasoup-worker npm start   # a worker of your own: nothing is built
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BUILD_PACKAGES, subprojectFiles } from './systemSubprojects.mjs';
import { applyWorkerPatches, PATCH_REVISION } from './workerPatches.mjs';

const MESON_VERSION = '1.12.1';
const NINJA_VERSION = '1.13.2';

// Another install (a second checkout's, unattended upgrades) may hold dpkg's lock: wait for it instead of failing.
const APT_WAIT_FOR_LOCK = ['-o', 'DPkg::Lock::Timeout=600'];

const say = (line) => console.log(`[mediasoup worker] ${line}`);

/** Where mediasoup is installed, its version, and the worker path it uses by default. */
function mediasoupPackage() {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('mediasoup/package.json');
  const dir = path.dirname(manifest);
  return { dir, version: require(manifest).version, defaultBin: path.join(dir, 'worker', 'out', 'Release', 'mediasoup-worker') };
}

/**
 * The cached worker of this mediasoup version, built with this revision of Knock's patches, on this machine.
 *
 * @example
 *   workerCacheDir('3.13.5') // '/root/.cache/knock/mediasoup-worker-3.13.5-k1-linux-x64'
 */
function workerCacheDir(version) {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'knock', `mediasoup-worker-${version}-k${PATCH_REVISION}-${process.platform}-${process.arch}`);
}

/**
 * Workers of this mediasoup version cached before the current patches are removed (one without the DTLS fix dies at a
 * browser's handshake: no conference server is better than that one, and mediasoup's default path then points nowhere
 * until the new build succeeds).
 */
function removeStaleWorkers(version, current) {
  const dir = path.dirname(current);
  if (!existsSync(dir)) return;
  const suffix = `-${process.platform}-${process.arch}`;
  for (const entry of readdirSync(dir)) {
    const stale = entry.startsWith(`mediasoup-worker-${version}-`) && entry.endsWith(suffix) && entry !== path.basename(current);
    if (stale) rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** True when the binary is there and every library it links is found (Debian's runtime libraries may be gone). */
function runnable(bin) {
  if (!existsSync(bin)) return false;
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
  return ldd.status === 0 && !/not found/.test(ldd.stdout);
}

/** Points mediasoup's default worker path at the cached worker (a symlink: node_modules can be emptied any time). */
function link(defaultBin, cachedBin) {
  mkdirSync(path.dirname(defaultBin), { recursive: true });
  if (existsSync(defaultBin) || isSymlink(defaultBin)) unlinkSync(defaultBin);
  symlinkSync(cachedBin, defaultBin);
}

function isSymlink(file) {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The reasons this machine cannot build, each with what to do; empty when it can. */
function installPrerequisites() {
  if (process.platform !== 'linux') return [`this build recipe is for Debian Linux, not ${process.platform}: set MEDIASOUP_WORKER_BIN to a worker built for it`];
  if (spawnSync('dpkg-query', ['--version']).status !== 0) return ['dpkg-query is missing: this build recipe is for Debian (or a derivative)'];
  const missing = BUILD_PACKAGES.filter((pkg) => {
    const q = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return q.status !== 0 || !q.stdout.includes('install ok installed');
  });
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      return [`Debian packages missing: ${missing.join(' ')}. As root: apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`];
    }
    say(`installing Debian's ${missing.join(', ')} (a minute or two)...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    } catch {
      return [`apt-get could not install ${missing.join(' ')}`];
    }
  }
  if (spawnSync('python3', ['-m', 'pip', '--version']).status !== 0) return ['python3 with pip is missing (Debian: python3-pip), needed for meson and ninja'];
  return [];
}

/** meson and ninja from pip's index into `target`; a reason when pip cannot get them. */
function pipMesonNinja(target) {
  say(`getting meson ${MESON_VERSION} and ninja ${NINJA_VERSION} with pip...`);
  const pip = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, `meson==${MESON_VERSION}`, `ninja==${NINJA_VERSION}`],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PIP_RETRIES: '0' } },
  );
  if (pip.status === 0 && existsSync(path.join(target, 'bin', 'meson'))) return null;
  return `pip could not get meson ${MESON_VERSION} and ninja ${NINJA_VERSION}: no package index reachable with them (pip's configuration, or a local mirror)`;
}

/** mediasoup's worker sources in `scratch`, every wrap replaced by a subproject wrapping Debian's library. */
function prepareSources(mediasoupDir, scratch) {
  const worker = path.join(scratch, 'worker');
  cpSync(path.join(mediasoupDir, 'worker'), worker, { recursive: true, filter: (src) => !src.includes(`${path.sep}worker${path.sep}out`) });
  const subprojects = path.join(worker, 'subprojects');
  for (const entry of readdirSync(subprojects)) {
    if (entry.endsWith('.wrap') && entry !== 'wingetopt.wrap') rmSync(path.join(subprojects, entry));
  }
  for (const [file, text] of subprojectFiles()) {
    mkdirSync(path.dirname(path.join(subprojects, file)), { recursive: true });
    writeFileSync(path.join(subprojects, file), text);
  }
  applyWorkerPatches(worker, { readFileSync, writeFileSync });
  return worker;
}

/** Runs mediasoup's Makefile (progress shown), at low priority so a running server keeps its share of the CPU. */
function compile(worker, out, cores) {
  const env = { ...process.env, PIP_RETRIES: '0' };
  delete env.MEDIASOUP_WORKER_BIN; // the Makefile skips building when it is set
  const make = spawnSync(
    'nice',
    [
      '-n', '10', 'make', '-C', worker, 'mediasoup-worker',
      `MEDIASOUP_OUT_DIR=${out}`, `CORES=${cores}`, `MESON_VERSION=${MESON_VERSION}`, `NINJA_VERSION=${NINJA_VERSION}`,
      'MESON_ARGS=--wrap-mode=nodownload',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env },
  );
  const bin = path.join(out, 'Release', 'mediasoup-worker');
  return make.status === 0 && existsSync(bin) ? bin : null;
}

/** Builds into a scratch directory and moves the stripped worker into the cache; the cached path, or null. */
function build(mediasoup, cacheDir) {
  const reasons = installPrerequisites();
  if (reasons.length > 0) {
    for (const r of reasons) say(`cannot build: ${r}`);
    return null;
  }
  mkdirSync(path.dirname(cacheDir), { recursive: true });
  const scratch = path.join(path.dirname(cacheDir), `.build-${mediasoup.version}-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  const started = Date.now();
  try {
    const out = path.join(scratch, 'out');
    const pipReason = pipMesonNinja(path.join(out, 'pip'));
    if (pipReason) {
      say(`cannot build: ${pipReason}`);
      return null;
    }
    const worker = prepareSources(mediasoup.dir, scratch);
    const cores = Math.max(1, os.availableParallelism());
    say(`compiling mediasoup ${mediasoup.version}'s worker on ${cores} core(s): 2-5 minutes on 2 cores, once per version...`);
    const built = compile(worker, out, cores);
    if (!built) {
      say('cannot build: the compilation failed (its output is above)');
      return null;
    }
    spawnSync('strip', [built]);
    const seconds = Math.round((Date.now() - started) / 1000);
    const bytes = statSync(built).size;
    // Moved in whole: a build running in parallel (another checkout) never sees half a cache entry.
    const staged = path.join(scratch, 'cache');
    mkdirSync(staged);
    copyFileSync(built, path.join(staged, 'mediasoup-worker'));
    chmodSync(path.join(staged, 'mediasoup-worker'), 0o755);
    writeFileSync(path.join(staged, 'build.json'), `${JSON.stringify({ mediasoup: mediasoup.version, patchRevision: PATCH_REVISION, seconds, bytes, builtAt: new Date().toISOString() }, null, 2)}\n`);
    if (!existsSync(cacheDir)) renameSync(staged, cacheDir);
    say(`built in ${seconds} s, ${(bytes / 1024 / 1024).toFixed(1)} MiB, kept in ${cacheDir}`);
    return path.join(cacheDir, 'mediasoup-worker');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main() {
  if (process.env.KNOCK_MEDIASOUP_BUILD === 'skip') return say('skipped (KNOCK_MEDIASOUP_BUILD=skip): conferences need Janus, or stay peer-to-peer');
  if (process.env.MEDIASOUP_WORKER_BIN) return say(`using MEDIASOUP_WORKER_BIN=${process.env.MEDIASOUP_WORKER_BIN}; nothing to build`);
  let mediasoup;
  try {
    mediasoup = mediasoupPackage();
  } catch {
    return say('the mediasoup package is not installed; nothing to build');
  }
  const cacheDir = workerCacheDir(mediasoup.version);
  removeStaleWorkers(mediasoup.version, cacheDir);
  const cached = path.join(cacheDir, 'mediasoup-worker');
  if (runnable(cached)) {
    link(mediasoup.defaultBin, cached);
    return say(`using the worker built before (${cacheDir})`);
  }
  if (existsSync(cacheDir)) rmSync(cacheDir, { recursive: true, force: true }); // its libraries are gone: remade
  const built = build(mediasoup, cacheDir);
  if (built && runnable(built)) {
    link(mediasoup.defaultBin, built);
    return say(`mediasoup ${mediasoup.version} will use ${built}`);
  }
  say('Knock runs without it: calls of three or more go through Janus if configured (KNOCK_JANUS_URL), else stay peer-to-peer up to the mesh limit.');
  say('Once the above is fixed: npm run sfu:worker');
}

try {
  main();
} catch (err) {
  // Never fail `npm install` over the conference server.
  say(`cannot build: ${err instanceof Error ? err.message : String(err)}`);
}
