/**
 * Knock's app icons (the web app manifest's, the home screen's), drawn by code at build time and written as PNG with
 * node:zlib: no image library, no binary file in the repository. The drawing is a white speech bubble with three
 * knocks (dots) on the app's accent colour; `maskable` fills the whole square and keeps the drawing inside the
 * central safe zone (a circle of 40% radius) that launchers crop to their own shape.
 *
 * @example
 *   const png = iconPng(192, 'any');      // Buffer, a 192×192 RGBA PNG
 *   await writeFile('icon-192.png', png);
 */
import { deflateSync } from 'node:zlib';

export type IconPurpose = 'any' | 'maskable';

/** The app's `--accent-fill` (client/src/styles.css): white on it reaches 5.2:1. */
const ACCENT: Rgba = [0x25, 0x63, 0xeb, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const CLEAR: Rgba = [0, 0, 0, 0];
/** Samples per pixel side: 4×4 samples smooth the edges enough for an icon. */
const SUPERSAMPLE = 4;

type Rgba = readonly [number, number, number, number];

/** A square icon of `size` pixels, as PNG bytes. */
export function iconPng(size: number, purpose: IconPurpose): Buffer {
  const rgba = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sums = [0, 0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          // The point in the unit square, centred on the sample.
          const colour = colourAt((x + (sx + 0.5) / SUPERSAMPLE) / size, (y + (sy + 0.5) / SUPERSAMPLE) / size, purpose);
          // Premultiplied, so transparent samples do not darken the edge.
          for (let c = 0; c < 3; c++) sums[c]! += colour[c]! * colour[3];
          sums[3]! += colour[3];
        }
      }
      const alpha = sums[3]! / (SUPERSAMPLE * SUPERSAMPLE);
      const at = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) rgba[at + c] = sums[3] === 0 ? 0 : Math.round(sums[c]! / sums[3]!);
      rgba[at + 3] = Math.round(alpha);
    }
  }
  return encodePng(size, size, rgba);
}

/** What colour the point (u, v) of the unit square has. */
function colourAt(u: number, v: number, purpose: IconPurpose): Rgba {
  if (purpose === 'any' && !inRoundedRect(u, v, 0, 0, 1, 1, 0.22)) return CLEAR;
  // The maskable icon's drawing shrinks into the safe zone; the plain one uses the whole tile.
  const scale = purpose === 'maskable' ? 0.78 : 1;
  const x = 0.5 + (u - 0.5) / scale;
  const y = 0.5 + (v - 0.5) / scale;
  const dotY = 0.47;
  for (const dotX of [0.35, 0.5, 0.65]) if (Math.hypot(x - dotX, y - dotY) < 0.052) return ACCENT;
  if (inRoundedRect(x, y, 0.2, 0.26, 0.8, 0.68, 0.12)) return WHITE;
  // The bubble's tail: a triangle under its lower left part.
  if (y >= 0.66 && y <= 0.82 && x >= 0.3 && x <= 0.46 && x - 0.3 <= (0.82 - y) * 1) return WHITE;
  return ACCENT;
}

function inRoundedRect(x: number, y: number, left: number, top: number, right: number, bottom: number, radius: number): boolean {
  if (x < left || x > right || y < top || y > bottom) return false;
  const cx = Math.min(Math.max(x, left + radius), right - radius);
  const cy = Math.min(Math.max(y, top + radius), bottom - radius);
  return Math.hypot(x - cx, y - cy) <= radius;
}

/** PNG (RFC 2083): 8-bit RGBA, no interlace, every row with filter 0 ("none"), one deflated IDAT chunk. */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
