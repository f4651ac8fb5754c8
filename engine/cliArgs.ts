/**
 * The CLI's argument parsing: `node:util` parseArgs, except that an argument with one dash and more after it (`-C87g…`)
 * is a positional. Conversation and device ids are base64url, so one in 64 starts with "-", and parseArgs would take
 * it for a bundle of short flags; the CLI's only short option is `-h`, alone. The same holds for an option's value
 * (`--revoke -Xb…`). `--` still ends the options as usual.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCliArgs<T extends Options>(argv: string[], options: T) {
  const stashed = new Map<string, string>();
  const args: string[] = [];
  let optionsEnded = false;
  for (const arg of argv) {
    if (arg === '--') optionsEnded = true;
    if (!optionsEnded && /^-[^-]./.test(arg)) {
      // A stand-in parseArgs reads as a positional (it cannot start with "-"), put back after parsing.
      const token = `\u0000${stashed.size}`;
      stashed.set(token, arg);
      args.push(token);
    } else {
      args.push(arg);
    }
  }
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options, strict: true });
  const restore = (v: unknown): unknown => (typeof v === 'string' ? stashed.get(v) ?? v : Array.isArray(v) ? v.map(restore) : v);
  const bag = values as Record<string, unknown>;
  for (const key of Object.keys(bag)) bag[key] = restore(bag[key]);
  return { values, positionals: positionals.map((p) => stashed.get(p) ?? p) };
}
