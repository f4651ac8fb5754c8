/**
 * What the DocRoom lets through of a client's awareness update (y-protocols awareness encoding: a count, then per
 * entry its clientID, clock and state as JSON). A client may speak only for the awareness ids it introduced itself
 * (one per editor it has open), never for another person's cursor, and the name on its cursor is the one the
 * conversation knows it by, not one it picks.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { KnockError } from '../../engine/errors.ts';

/** A cursor state is a name, a colour and a selection: a few hundred bytes. */
export const MAX_AWARENESS_BYTES = 16 * 1024;
/** Awareness ids one connection may hold (an editor each; reconnecting keeps its id). */
export const MAX_AWARENESS_IDS_PER_PEER = 4;

const COLOR = /^#[0-9a-fA-F]{6}$/;

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: Record<string, unknown> | null;
}

export function decodeAwareness(update: Uint8Array): AwarenessEntry[] {
  if (update.byteLength > MAX_AWARENESS_BYTES) {
    throw new KnockError('too_large', `The cursor update is too large (at most ${MAX_AWARENESS_BYTES} bytes).`);
  }
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    if (count > MAX_AWARENESS_IDS_PER_PEER) throw new KnockError('bad_request', 'The cursor update names too many clients.');
    const entries: AwarenessEntry[] = [];
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state: unknown = JSON.parse(decoding.readVarString(decoder));
      if (state !== null && (typeof state !== 'object' || Array.isArray(state))) throw new Error('state is not an object');
      entries.push({ clientId, clock, state: state as Record<string, unknown> | null });
    }
    return entries;
  } catch (err) {
    if (err instanceof KnockError) throw err;
    throw new KnockError('bad_request', 'The cursor update could not be decoded.');
  }
}

/** The entries with the sender's own name on every state (and its colour when it gave a valid one). */
export function encodeAwareness(entries: AwarenessEntry[], name: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, JSON.stringify(entry.state === null ? null : withName(entry.state, name)));
  }
  return encoding.toUint8Array(encoder);
}

function withName(state: Record<string, unknown>, name: string): Record<string, unknown> {
  const given = typeof state.user === 'object' && state.user !== null ? (state.user as Record<string, unknown>) : {};
  const color = typeof given.color === 'string' && COLOR.test(given.color) ? given.color : '#6b7280';
  return { ...state, user: { name, color } };
}
