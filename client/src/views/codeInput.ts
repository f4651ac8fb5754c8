/**
 * What every box for a six-digit verification code has (Settings → Channels, Settings → Phone number): the number
 * keyboard, the phone's offer to fill in the code from the SMS it just got, and six digits.
 */
export const codeInputProps = {
  inputMode: 'numeric',
  autoComplete: 'one-time-code',
  pattern: '[0-9]{6}',
  maxLength: 6,
} as const;
