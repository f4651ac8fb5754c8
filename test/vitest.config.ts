import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The call tests measure live media in Chromium (decoded frames, audio energy, ICE restarts through Janus and coturn):
 * beside two other busy test files on a 2-core machine their fake camera and the WebRTC threads starve and a
 * frame arrives seconds late. They run last, one file at a time, once everything else has finished. The browser
 * scale-out tests make a video call too (and run two Knock processes besides), and so does the accessibility audit
 * (it audits the call screen once the call's media connected).
 */
const CALL_E2E = ['test/e2e/calls*.test.ts', 'test/scale/browsers*.test.ts', 'test/e2e/accessibility.test.ts'];

export default defineConfig({
  root,
  test: {
    // Each file gets its own process: Colyseus keeps its matchmaker in module state, one server per process.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/globalSetup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'knock',
          include: ['test/**/*.test.ts', 'adapters/**/*.test.ts'],
          exclude: CALL_E2E,
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'calls',
          include: CALL_E2E,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
