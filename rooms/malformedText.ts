/**
 * msgpackr decodes bytes that are not UTF-8 (e.g. a lone surrogate that a client encoded naively) into U+FFFD
 * without complaint, so after decoding, broken text cannot be told from a real U+FFFD. When a decoded message
 * contains U+FFFD (rare), this walks the raw msgpack once and checks every string's bytes strictly, so broken text
 * is refused instead of being stored as something the sender never wrote.
 */
const strict = new TextDecoder('utf-8', { fatal: true });

export function containsReplacementChar(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (depth > 8 || typeof value !== 'object' || value === null) return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (containsReplacementChar(v, depth + 1)) return true;
  return false;
}

/** True when some msgpack string in `bytes` (from `offset`) is not valid UTF-8, or the bytes cannot be walked. */
export function hasMalformedText(bytes: Uint8Array, offset: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = offset;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new RangeError('truncated');
  };
  const str = (len: number) => {
    need(len);
    strict.decode(bytes.subarray(pos, pos + len));
    pos += len;
  };
  const skip = (n: number) => {
    need(n);
    pos += n;
  };
  const walk = (depth: number): void => {
    if (depth > 16) throw new RangeError('too deep');
    need(1);
    const b = bytes[pos++]!;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return; // ints, nil, booleans
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    if (b >= 0x80 && b <= 0x8f) return items((b & 0x0f) * 2, depth);
    if (b >= 0x90 && b <= 0x9f) return items(b & 0x0f, depth);
    switch (b) {
      case 0xd9: need(1); return str(bytes[pos++]!);
      case 0xda: need(2); pos += 2; return str(view.getUint16(pos - 2));
      case 0xdb: need(4); pos += 4; return str(view.getUint32(pos - 4));
      case 0xdc: need(2); pos += 2; return items(view.getUint16(pos - 2), depth);
      case 0xdd: need(4); pos += 4; return items(view.getUint32(pos - 4), depth);
      case 0xde: need(2); pos += 2; return items(view.getUint16(pos - 2) * 2, depth);
      case 0xdf: need(4); pos += 4; return items(view.getUint32(pos - 4) * 2, depth);
      case 0xcc: case 0xd0: return skip(1);
      case 0xcd: case 0xd1: return skip(2);
      case 0xca: case 0xce: case 0xd2: return skip(4);
      case 0xcb: case 0xcf: case 0xd3: return skip(8);
      case 0xc4: need(1); return skip(bytes[pos++]!);
      case 0xc5: need(2); pos += 2; return skip(view.getUint16(pos - 2));
      case 0xc6: need(4); pos += 4; return skip(view.getUint32(pos - 4));
      default: throw new RangeError('unsupported'); // extensions: none of our messages carry them
    }
  };
  const items = (n: number, depth: number) => {
    for (let i = 0; i < n; i++) walk(depth + 1);
  };
  try {
    while (pos < bytes.length) walk(0);
    return false;
  } catch {
    return true;
  }
}
