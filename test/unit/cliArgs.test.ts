import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../engine/cliArgs.ts';

const options = {
  filter: { type: 'string' },
  revoke: { type: 'string' },
  attach: { type: 'string', multiple: true },
  remove: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

// Ids are base64url: one in 64 starts with "-" (a CI run once failed on `knock conversation delete -C87g…`).
describe('parseCliArgs', () => {
  it('takes an id that starts with a dash for a positional, where parseArgs alone fails', () => {
    const { positionals } = parseCliArgs(['conversation', 'delete', '-C87gLukwM43FJW72sR3NQ'], options);
    expect(positionals).toEqual(['conversation', 'delete', '-C87gLukwM43FJW72sR3NQ']);
  });

  it('takes such an id as an option’s value, alone or repeated', () => {
    const { values } = parseCliArgs(['user', 'devices', 'alice', '--revoke', '-Xb3', '--attach', '-a.txt', '--attach', 'b.txt'], options);
    expect(values).toMatchObject({ revoke: '-Xb3', attach: ['-a.txt', 'b.txt'] });
  });

  it('keeps -h, long options and -- as parseArgs reads them', () => {
    expect(parseCliArgs(['-h'], options).values.help).toBe(true);
    expect(parseCliArgs(['user', 'email', 'alice', '--remove'], options).values.remove).toBe(true);
    expect(parseCliArgs(['conversation', 'delete', '--', '--odd'], options).positionals).toEqual(['conversation', 'delete', '--odd']);
  });

  it('still refuses an option it does not know', () => {
    expect(() => parseCliArgs(['user', 'list', '--everything'], options)).toThrow(/Unknown option '--everything'/);
  });
});
