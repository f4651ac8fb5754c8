/** The wire protocol's rules (engine/protocol.ts): handles, names, message bodies and readable errors. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  clientMsgIdSchema, conversationClientMessages, conversationJoinOptions, describeIssues, displayNameSchema, handleSchema,
  limits, RESERVED_HANDLES, signupBody,
} from '../../engine/protocol.ts';

/** The readable message of a refusal, or null when the value is accepted. */
function problem(schema: z.ZodType, value: unknown): string | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? null : describeIssues(parsed.error);
}

const send = conversationClientMessages.send;
const body = (text: string) => ({ clientMsgId: 'cmid-0001', body: text });

describe('handles', () => {
  it.each(['al', 'alice', 'bob.smith', 'x_y-z', '0day', 'a'.repeat(32)])('accepts %s', (handle) => {
    expect(problem(handleSchema, handle)).toBeNull();
  });

  it.each([
    ['a', 'one character'],
    ['a'.repeat(33), 'over 32 characters'],
    ['Alice', 'uppercase'],
    ['-alice', 'starting with "-"'],
    ['.alice', 'starting with "."'],
    ['_', 'the prefix of Knock\u2019s own routes'],
    ['al ice', 'a space'],
    ['alïce', 'a non-ASCII letter'],
    ['al/ce', 'a slash'],
    ['', 'empty'],
  ])('refuses %j (%s) with a message that says what a handle is', (handle) => {
    expect(problem(handleSchema, handle)).toMatch(/^A handle is 2 to 32 characters/);
  });

  it.each([...RESERVED_HANDLES])('refuses the reserved handle %s', (handle) => {
    expect(problem(handleSchema, handle)).toBe('This handle is reserved.');
  });
});

describe('message bodies', () => {
  it(`accepts a body of exactly ${limits.bodyChars} characters and refuses one more`, () => {
    expect(problem(send, body('x'.repeat(limits.bodyChars)))).toBeNull();
    expect(problem(send, body('x'.repeat(limits.bodyChars + 1)))).toBe(`body: The message is too long (at most ${limits.bodyChars} characters).`);
  });

  it('refuses an empty or blank body', () => {
    expect(problem(send, body(''))).toBe('body: The message is empty.');
    expect(problem(send, body(' \n\t '))).toBe('body: The message is empty.');
  });

  it('accepts surrogate pairs (emoji) and refuses lone surrogates', () => {
    expect(problem(send, body('hi 😀 \uD83D\uDE00'))).toBeNull();
    for (const broken of ['\uD800', 'a\uDC00b', 'end\uD83D', '\uDE00\uD83D']) {
      expect(problem(send, body(broken))).toBe('body: The message contains broken characters.');
    }
  });

  it('requires a clientMsgId of 8 to 64 URL-safe characters', () => {
    expect(problem(clientMsgIdSchema, 'abcd-123')).toBeNull();
    expect(problem(clientMsgIdSchema, 'short')).toMatch(/8 to 64/);
    expect(problem(clientMsgIdSchema, 'x'.repeat(65))).toMatch(/8 to 64/);
    expect(problem(clientMsgIdSchema, 'has space 123')).toMatch(/8 to 64/);
  });
});

describe('names', () => {
  it(`trims a name and allows ${limits.nameChars} characters`, () => {
    expect(displayNameSchema.parse('  Vic  ')).toBe('Vic');
    expect(problem(displayNameSchema, 'n'.repeat(limits.nameChars))).toBeNull();
    expect(problem(displayNameSchema, 'n'.repeat(limits.nameChars + 1))).toMatch(/too long/);
  });

  it('refuses blank names and names with lone surrogates', () => {
    expect(problem(displayNameSchema, '   ')).toBe('The name cannot be empty.');
    expect(problem(displayNameSchema, 'Vic\uD800')).toBe('The name contains broken characters.');
  });
});

describe('other inputs', () => {
  it('refuses negative seqs, history before seq 0 and join tokens of the wrong size', () => {
    expect(problem(conversationClientMessages.receipt, { kind: 'read', seq: -1 })).not.toBeNull();
    expect(problem(conversationClientMessages.history, { beforeSeq: 0 })).not.toBeNull();
    expect(problem(conversationJoinOptions, { conversationId: 'c1', token: 'short' })).not.toBeNull();
    expect(problem(conversationJoinOptions, { conversationId: 'c1', token: 't'.repeat(32), since: 4 })).toBeNull();
  });

  it('asks a sign-up for a password of at least 8 characters', () => {
    expect(problem(signupBody, { handle: 'carol', displayName: 'Carol', password: 'short' })).toBe(
      'password: The password needs at least 8 characters.',
    );
  });
});

describe('describeIssues', () => {
  it('names the field of the first problem, with nested paths joined by dots', () => {
    const schema = z.object({ outer: z.object({ inner: z.string().min(3, { message: 'Too short.' }) }) });
    expect(problem(schema, { outer: { inner: 'x' } })).toBe('outer.inner: Too short.');
  });

  it('gives the bare message when the problem is with the whole value', () => {
    expect(problem(z.string().min(2, { message: 'Too short.' }), 'x')).toBe('Too short.');
  });

  it('still says something when there is no issue to describe', () => {
    expect(describeIssues(new z.ZodError([]))).toBe('The request is not valid.');
  });
});
