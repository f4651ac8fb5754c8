/**
 * A QR code drawn as one SVG path, named for screen readers by `label` (what it is for, since nobody can read it).
 * The encoder (qrcode-generator) is fetched when the first code is drawn, not with the page.
 */
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';

/** Light modules around the code, as the standard asks (4), so a camera finds its edges on any background. */
const QUIET_ZONE = 4;

export function QrCode({ text, label }: { text: string; label: string }) {
  const drawn = useSignal<{ size: number; path: string } | null>(null);
  const failed = useSignal<string | null>(null);
  useEffect(() => {
    let current = true;
    import('qrcode-generator').then(
      ({ default: qrcode }) => {
        const qr = qrcode(0, 'M');
        qr.addData(text);
        qr.make();
        const count = qr.getModuleCount();
        let path = '';
        for (let row = 0; row < count; row++) {
          for (let col = 0; col < count; col++) if (qr.isDark(row, col)) path += `M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
        }
        if (current) drawn.value = { size: count + 2 * QUIET_ZONE, path };
      },
      (err: unknown) => current && (failed.value = err instanceof Error ? err.message : String(err)),
    );
    return () => {
      current = false;
    };
  }, [text]);

  if (failed.value !== null) return <p class="error error--inline">The QR code could not be drawn ({failed.value}): type the key instead.</p>;
  if (drawn.value === null) return <p class="muted">Drawing the QR code…</p>;
  const { size, path } = drawn.value;
  return (
    <svg class="qr-code" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
