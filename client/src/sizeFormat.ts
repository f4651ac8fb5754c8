/**
 * Sizes as people read them: "512 bytes", "2.5 MB", "120 MB", "1 GB". Powers of 1024 with the short names everyone
 * knows (as Windows and most quotas say it): a 1 GiB quota reads "1 GB", not "1.07 GB".
 */
const UNITS = ['KB', 'MB', 'GB', 'TB'] as const;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${Math.max(0, Math.round(bytes))} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // One decimal under 10 ("2.5 MB"), none above ("120 MB"); "1.0" reads "1".
  const shown = value < 10 ? String(Math.round(value * 10) / 10) : String(Math.round(value));
  // Rounding may reach the next unit ("1024 KB"): say "1 MB" instead.
  if (shown === '1024' && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}
