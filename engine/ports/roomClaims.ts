/**
 * One room per id, enforced (DESIGN "Actors": one UserRoom per handle, one room per conversation, document and
 * game). Colyseus's `filterBy` finds an existing room only while it is unlocked and listed, and its create lock is
 * a courtesy with a timeout; so during a process's shutdown (its rooms are locked), after a crash, or when two
 * processes race, a second room for the same id could be made. Two UserRooms would be two writers of one owner's
 * presence; two GameRooms, two referees of one game (one of them awarding a forfeit). Every Knock room therefore
 * claims its scope (`user:alice`, `game:<id>`) before it sets itself up and releases it once disposed; a room that
 * cannot claim refuses to be created, and the client tries again a moment later.
 *
 * A claim outlives no process: one whose process is gone (crashed, killed) is free again within the coordination's
 * lease (KNOCK_PRESENCE_TTL_MS), without waiting for anyone to release it.
 *
 * @example
 *   if (!(await claims.claim('game:g1', room.roomId))) throw new KnockError('unavailable', '…');
 *   // … the room lives …
 *   await claims.release('game:g1', room.roomId);
 */
export interface RoomClaims {
  /** Claims `scope` for the room `roomId`; false while another live room holds it. Claiming again is harmless. */
  claim(scope: string, roomId: string): Promise<boolean>;
  /** Frees `scope` if `roomId` holds it (a no-op otherwise, so a late release never frees a successor's claim). */
  release(scope: string, roomId: string): Promise<void>;
  /** Stops renewing this process's lease and forgets this process's claims; idempotent. */
  close(): Promise<void>;
}
