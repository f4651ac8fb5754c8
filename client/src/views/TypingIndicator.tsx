/** "Alice is typing…", in a polite live region that exists even when empty so screen readers announce changes. */
export function TypingIndicator({ names }: { names: readonly string[] }) {
  return (
    <div class="typing" aria-live="polite">
      {typingSentence(names)}
    </div>
  );
}

function typingSentence(names: readonly string[]): string {
  const shown = names.map((n) => (n.trim() === '' ? 'Someone' : n));
  const [first, second] = shown;
  if (first === undefined) return '';
  if (second === undefined) return `${first} is typing…`;
  if (shown.length === 2) return `${first} and ${second} are typing…`;
  return `${first} and ${shown.length - 1} others are typing…`;
}
