/**
 * What every box for an email address in the console has: plain text (not `type="email"`, whose own check would stop
 * the form before Knock could say, in words, what is wrong), the keyboard for addresses, no capitals or spelling
 * fixes, and the longest address the protocol takes.
 */
export const emailInputProps = {
  type: 'text',
  inputMode: 'email',
  autocomplete: 'email',
  autocapitalize: 'off',
  spellcheck: false,
  maxLength: 254,
} as const;
