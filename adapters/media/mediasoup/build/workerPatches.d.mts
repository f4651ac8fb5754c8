// Types of workerPatches.mjs (plain JavaScript: it runs at npm install, before anything is compiled).
export declare const PATCH_REVISION: number;
export declare function applyWorkerPatches(
  workerDir: string,
  fs: { readFileSync(file: string, encoding: 'utf8'): string; writeFileSync(file: string, text: string): void },
): void;
