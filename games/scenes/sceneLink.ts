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
  /**
   * Keys pressed (`down`) and released on the game's element, each once, as the browser reports it; a key still held
   * when the element loses the focus is reported released. Returns an unsubscribe. (Not Phaser's keyboard plugin: it
   * dispatches its whole per-frame queue again at every key, so two presses within one frame moved a cursor three
   * times.)
   */
  onKey(listener: (event: KeyboardEvent, down: boolean) => void): () => void;
}
