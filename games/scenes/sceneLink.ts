/** What a scene gets from the page: the latest state, who this device is, and how to send a move or an input. */
export interface SceneLink {
  /** This device's seat, or null when watching. */
  seat: 0 | 1 | null;
  /** The newest view the server sent (games/<kind>.ts view). */
  view(): unknown;
  /** Every state as it arrives (time from performance.now()); returns an unsubscribe. */
  onState(listener: (view: unknown, receivedAt: number) => void): () => void;
  move(move: unknown): void;
  /** The scene is drawn and takes keys (Phaser starts a frame or more after mounting). */
  ready(): void;
}
