// Types of engine/build.mjs (plain JavaScript, so that `npm install` and the `knock` command run it with Node alone).
/** Where the server's bundles go: engine/dist/. */
export declare const serverOutdir: string;
/** Bundles engine/main.ts and engine/cli.ts into engine/dist/main.mjs and engine/dist/cli.mjs. */
export declare function buildServer(): Promise<{ main: string; cli: string }>;
/** True when a bundle is missing, or a source it was built from changed or is gone since. */
export declare function serverBuildIsStale(): Promise<boolean>;
