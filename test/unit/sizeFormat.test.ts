/** Sizes as the views show them (client/src/sizeFormat.ts): "120 MB of 1 GB used", "2.5 MB", "512 bytes". */
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../client/src/sizeFormat.ts';

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1, '1 byte'],
    [1023, '1023 bytes'],
    [1024, '1 KB'],
    [2.5 * 1024 * 1024, '2.5 MB'],
    [1_258_291, '1.2 MB'],
    [120 * 1024 * 1024, '120 MB'],
    [1024 ** 3, '1 GB'],
    [1024 * 1024 - 1, '1 MB'],
    [25 * 1024 * 1024, '25 MB'],
  ])('%d bytes read "%s"', (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });
});
