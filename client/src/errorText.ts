/** The sentence to show a person for anything thrown by the SDK or the network. */
export function errorText(err: unknown): string {
  if (err instanceof TypeError) return 'Could not reach the server. Check your connection and try again.';
  if (err instanceof Error && err.message !== '') return err.message;
  return 'Something went wrong. Please try again.';
}
