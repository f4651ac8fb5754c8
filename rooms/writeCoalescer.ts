/**
 * Per-tick write coalescing for room sockets. A client's socket is held corked until the end of the current tick
 * (process.nextTick), so every frame sent to it meanwhile (the acks of a group commit, a burst of broadcasts) leaves
 * in one write(v) system call instead of one each. The frames and their order are unchanged; they leave a few
 * microseconds later.
 *
 * The composition root makes one for the process and every room gets it through RoomDeps.writes: a socket written to
 * by several rooms in one tick is corked once and uncorked once. Without close(): what it holds is released at the
 * end of the tick that corked it.
 *
 * @example
 *   const writes = new WriteCoalescer();
 *   writes.coalesce(client); // before each send to a Colyseus client
 *   client.send('message', payload);
 */

/** The TCP socket under a `ws` WebSocket: what can be corked. */
interface CorkableSocket {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** A `ws` WebSocket holds its TCP socket in a private field; other transports have none (then nothing is corked). */
interface WithSocket {
  _socket?: CorkableSocket;
}

export class WriteCoalescer {
  /** Sockets corked during the current tick. */
  private readonly corked = new Set<CorkableSocket>();
  private flushScheduled = false;

  /** Holds the socket of `client` (a Colyseus client) corked until the end of the current tick. */
  coalesce(client: { ref: unknown }): void {
    const socket = (client.ref as WithSocket)._socket;
    if (!socket || this.corked.has(socket)) return;
    socket.cork();
    this.corked.add(socket);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  /**
   * Uncorks every socket held so far, but those destroyed meanwhile (nothing to write to). Runs by itself at the end
   * of the tick; calling it sooner sends what is held now.
   */
  readonly flush = (): void => {
    this.flushScheduled = false;
    for (const socket of this.corked) if (!socket.destroyed) socket.uncork();
    this.corked.clear();
  };
}
