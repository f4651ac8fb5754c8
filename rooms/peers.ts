/**
 * The peers of one room, by their Colyseus session id: the bookkeeping every room shell needs between a socket and
 * its logic, in one place. A message from a socket that has no peer (it has not joined, or has left) is refused.
 */
import { KnockError } from '../engine/errors.ts';

export class Peers<P extends { readonly id: string }> {
  private readonly byId = new Map<string, P>();

  /** `what` names the room in the refusal: "this conversation", "this document", "this game". */
  constructor(private readonly what: string) {}

  add(peer: P): P {
    this.byId.set(peer.id, peer);
    return peer;
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  /** The peer of session `id`; a `forbidden` error when there is none. */
  of(id: string): P {
    const peer = this.byId.get(id);
    if (!peer) throw new KnockError('forbidden', `You have not joined ${this.what} yet.`);
    return peer;
  }
}
