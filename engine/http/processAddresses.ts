/**
 * Where the processes of one Knock are, as browsers reach them (each one's KNOCK_PUBLIC_ADDRESS), so that a page
 * served by one process may open the socket of a room another holds (README "Running several processes"):
 * - the page's Content-Security-Policy lists `ws://` and `wss://` of every live process's host[:port] in
 *   `connect-src` (a page at `http://10.0.0.5:8080` whose room lives on `10.0.0.6:8080`);
 * - the Origin rule (origin.ts) accepts pages served at those addresses (`http(s)://host[:port]`): the socket's
 *   Origin is the page's, another process's.
 * Both follow from configuration only, each process's own KNOCK_PUBLIC_ADDRESS as it announced it through the Hub
 * (Redis when scaled out), never from what a request says: no wildcard, nothing a DNS rebinding could add. Behind one
 * origin (`chat.example.com/_/p1`), the addresses share the page's host and add nothing new.
 *
 * Each process renews its entry every `refreshMs` and re-reads everyone's then, on every announcement, and before
 * every page it serves (so a page's policy always names the processes live when it was served).
 *
 * @example
 *   const addresses = new ProcessAddresses({ hub, clock, processId, own: config.publicAddress, refreshMs, logger });
 *   await addresses.start();
 *   addresses.isPageOrigin('http://10.0.0.6:8080'); // true once 10.0.0.6:8080 announced itself
 *   await addresses.close();
 */
import type { Hub } from '../hub.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../ports/clock.ts';

export interface ProcessAddressesDeps {
  hub: Pick<Hub, 'announceAddress' | 'withdrawAddress' | 'liveAddresses' | 'onAddresses'>;
  clock: Clock;
  processId: string;
  /** This process's KNOCK_PUBLIC_ADDRESS, if it has one. */
  own: string | undefined;
  refreshMs: number;
  logger: Pick<Logger, 'error'>;
}

/** `host[:port]` of a public address (`chat.example.com/_/p1` -> `chat.example.com`). */
export function hostOf(address: string): string {
  const slash = address.indexOf('/');
  return (slash === -1 ? address : address.slice(0, slash)).toLowerCase();
}

export class ProcessAddresses {
  private hosts: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private announced = false;
  private closed = false;

  constructor(private readonly deps: ProcessAddressesDeps) {
    if (deps.own !== undefined) this.hosts = new Set([hostOf(deps.own)]);
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.hub.onAddresses(() => void this.refresh());
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.deps.refreshMs);
    this.timer.unref();
  }

  /** True for the origin of a page served at a live process's address. */
  isPageOrigin(origin: string): boolean {
    const match = /^https?:\/\/([^/]+)$/i.exec(origin);
    return match !== null && this.hosts.has(match[1]!.toLowerCase());
  }

  /** `connect-src` sources for a page being served now: every live process's address, freshly read. */
  async connectSources(): Promise<string[]> {
    await this.refresh();
    return [...this.hosts].sort().flatMap((host) => [`ws://${host}`, `wss://${host}`]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    if (this.announced) {
      await this.deps.hub.withdrawAddress(this.deps.processId).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'could not withdraw this process\u2019s address; it lapses by itself');
      });
    }
  }

  private async renew(): Promise<void> {
    const { own, processId, clock } = this.deps;
    if (own !== undefined && !this.closed) {
      try {
        await this.deps.hub.announceAddress(processId, own, clock.now(), !this.announced);
        this.announced = true;
      } catch (err) {
        this.deps.logger.error({ err }, 'could not announce this process\u2019s address');
      }
    }
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    try {
      const live = await this.deps.hub.liveAddresses(this.deps.clock.now());
      const hosts = new Set(live.map(hostOf));
      if (this.deps.own !== undefined) hosts.add(hostOf(this.deps.own));
      this.hosts = hosts;
    } catch (err) {
      // Keep what was known: a Redis hiccup must not refuse every page of the other processes.
      this.deps.logger.error({ err }, 'could not read the processes\u2019 addresses');
    }
  }
}
