/**
 * The widget's check of what Knock's frames post to it (client/src/widget/frameMessages.ts), for the visitor's place
 * in the queue (issue 19): a whole number from 1, or null; anything else from the frame's window is dropped.
 */
import { describe, expect, it } from 'vitest';
import { WIDGET_TAG, isFrameToWidget } from '../../client/src/widget/frameMessages.ts';

describe('isFrameToWidget: queue', () => {
  it('takes a place from 1 on, or null (not waiting)', () => {
    for (const position of [1, 2, 250, null]) expect(isFrameToWidget({ tag: WIDGET_TAG, type: 'queue', position })).toBe(true);
  });

  it('drops a place that is no whole number from 1 on, or missing', () => {
    for (const position of [0, -1, 1.5, Number.NaN, Infinity, '1', undefined, {}]) {
      expect(isFrameToWidget({ tag: WIDGET_TAG, type: 'queue', position })).toBe(false);
    }
    expect(isFrameToWidget({ tag: WIDGET_TAG, type: 'queue' })).toBe(false);
    expect(isFrameToWidget({ tag: 'other', type: 'queue', position: 1 })).toBe(false);
  });
});
