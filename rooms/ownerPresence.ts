/**
 * What a room believes about an owner's presence, free of Colyseus (CONVENTIONS 1). It has two sources:
 * - the hub's `online` events: immediate, but a process that dies (SIGKILL, power cut) publishes nothing;
 * - the stored lease (engine/hub.ts), which expires when the owner's UserRoom stops renewing it: re-read on every
 *   `refresh()` (the room shells call it every `hub.presenceRefreshMs`).
 * An event is newer than a read that was in flight when it came, so such a read is dropped: the belief never goes
 * back in time, and a quick offline-online is never undone by a slow read.
 *
 * @example
 *   const presence = new OwnerPresence({ read: () => hub.isOnline('alice'), onChange: (online) => show(online), logger });
 *   hub.onPresence('alice', (e) => e.type === 'online' && presence.heard(e.online));
 *   await presence.refresh();                          // the first read
 *   setInterval(() => void presence.refresh(), hub.presenceRefreshMs);
 */
import type { Logger } from '../engine/logger.ts';

export interface OwnerPresenceDeps {
  /** Reads the stored presence (Hub.isOnline of the owner's handle). */
  read: () => Promise<boolean>;
  /** Called whenever the belief changes, the first answer included (`previous` is then null). */
  onChange: (online: boolean, previous: boolean | null) => void;
  logger: Pick<Logger, 'error'>;
}

export class OwnerPresence {
  private value: boolean | null = null;
  /** Bumped by every event: a read that started before the bump is stale when it answers. */
  private generation = 0;
  private inflight: Promise<void> | null = null;

  constructor(private readonly deps: OwnerPresenceDeps) {}

  /** The current belief; null before the first event or read. */
  get known(): boolean | null {
    return this.value;
  }

  /** An `online` event from the hub. */
  heard(online: boolean): void {
    this.generation++;
    this.set(online);
  }

  /**
   * Re-reads the stored presence. Calls made while a read is in flight share it (a slow store is asked once,
   * not once per tick). A failed read is logged and changes nothing.
   */
  refresh(): Promise<void> {
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** The belief, reading the store first when nothing is known yet. */
  async current(): Promise<boolean> {
    if (this.value === null) await this.refresh();
    return this.value ?? false;
  }

  private async read(): Promise<void> {
    const generation = this.generation;
    let online: boolean;
    try {
      online = await this.deps.read();
    } catch (err) {
      this.deps.logger.error({ err }, 'could not read the owner\u2019s presence');
      return;
    }
    if (generation === this.generation) this.set(online);
  }

  private set(online: boolean): void {
    const previous = this.value;
    if (previous === online) return;
    this.value = online;
    this.deps.onChange(online, previous);
  }
}
