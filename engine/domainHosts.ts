/**
 * Which own domain a request came to (issue 21: "the domain is the URL"): `https://alice.example/` serves what
 * `/alice` serves, and a page there is one of this server's (its API writes and sockets pass the Origin rule,
 * engine/http/origin.ts). Only ACTIVE domains count: a name pointed at Knock but not delegated to it is nobody's.
 *
 * The HTTP server and the Origin rule ask on every request and socket, synchronously, so this keeps a snapshot of the
 * active domains (name -> handle) in memory, read from storage every `refreshMs` and at once when this process
 * changes one: a domain activated by another process is served here within `refreshMs`.
 *
 * @example
 *   const hosts = new DomainHosts({ storage, logger, refreshMs: 5000 });
 *   await hosts.start();
 *   hosts.homeOf('Alice.Example:443');   // 'alice'
 */
import { hostName } from './hostName.ts';
import type { Logger } from './logger.ts';
import type { Storage } from './ports/storage.ts';

export interface DomainHostsDeps {
  storage: Pick<Storage, 'listDomains' | 'getAccountById'>;
  logger: Logger;
  refreshMs: number;
}

export class DomainHosts {
  private homes = new Map<string, string>();
  /** The handles of the owners of active domains, as last read (only owners still holding one are kept). */
  private handles = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly deps: DomainHostsDeps) {}

  /** Reads the active domains now, then every refreshMs. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.deps.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The handle whose page an own domain serves, for a request's Host header; null for any other host. */
  homeOf(host: string | undefined): string | null {
    const name = hostName(host);
    return name === null ? null : (this.homes.get(name) ?? null);
  }

  /** Reads the snapshot again (after this process activated or removed a domain, or on the timer). Never rejects. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not read the active domains'))
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async read(): Promise<void> {
    const homes = new Map<string, string>();
    const handles = new Map<string, string>();
    for (const domain of await this.deps.storage.listDomains()) {
      if (domain.state !== 'active') continue;
      // A handle never changes, and an account's domains go with it: an owner is read once, not on every refresh.
      let handle = handles.get(domain.accountId) ?? this.handles.get(domain.accountId);
      handle ??= (await this.deps.storage.getAccountById(domain.accountId))?.handle;
      if (handle === undefined) continue;
      handles.set(domain.accountId, handle);
      homes.set(domain.name, handle);
    }
    this.handles = handles;
    this.homes = homes;
  }
}
