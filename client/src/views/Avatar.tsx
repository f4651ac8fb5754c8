/** A round badge with the first letter of a name, in a colour derived from the name so people are told apart. */
export function Avatar({ name, size = 'medium' }: { name: string; size?: 'small' | 'medium' | 'large' }) {
  const initial = Array.from(name.trim())[0]?.toUpperCase() ?? '?';
  return (
    <span class={`avatar avatar--${size} avatar--hue-${hueOf(name)}`} aria-hidden="true">
      {initial}
    </span>
  );
}

/** One of 8 hues (classes in styles.css: inline styles are barred by the CSP). */
function hueOf(name: string): number {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 8;
}
