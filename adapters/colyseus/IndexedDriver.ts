/**
 * Colyseus's matchmaking driver for one process, with indexes (DESIGN "Actors": finding and creating a room must
 * cost the same with 10 or 20,000 rooms open). Colyseus 0.16's LocalDriver keeps every room's listing in one array:
 * each `findOne` copies and scans it, `has` scans it, and each dispose searches it (RECIPES.md measured room
 * creation falling from ~220/s to ~20/s at 19k rooms). This driver keeps the same listings behind a hash index on
 * every field that identifies a room: `roomId`, `name`, `processId`, `publicAddress` and the `filterBy` values
 * (e.g. `handle`, `conversationId`). A query starts from the smallest index bucket its conditions name, then checks
 * every condition on those few candidates, reading the live fields (`clients`, `locked`, `private`, `maxClients`,
 * `unlisted`, `metadata`) as they are at that moment.
 *
 * What Colyseus relies on, kept exactly as LocalDriver does it:
 * - `createInstance(values)` gives a listing with LocalDriver's defaults; it is found only after `save()`.
 * - Conditions match with `===` on every own field of the condition object (any field, `undefined` included).
 * - Results come in the order listings were first saved; `sortOptions` sort them stably, field by field.
 * - `findOne` returns a thenable with `sort()`, evaluated when awaited; it resolves `undefined` when nothing matches.
 * - Listings change through `save()`, `updateOne({ $set, $inc })` and direct assignment (`listing.locked = true`);
 *   all three keep the indexes right (identity fields are accessors that re-index on assignment).
 * - `remove()` unlists; `cleanup(processId)` removes that process's listings; `clear()` forgets every listing.
 * Two deliberate differences: `save()` after `remove()` (or after `clear()`) does nothing, where LocalDriver throws
 * a TypeError (resp. writes to an array nobody reads); and a brand-new identity field set by direct assignment after
 * `save()` is indexed only at the next `save()`/`updateOne()` (Colyseus 0.16 assigns only `roomId` before `save()`
 * and live fields after it).
 *
 * @example
 *   import { IndexedDriver } from '../colyseus/IndexedDriver.ts';
 *   new Server({ transport, presence: new LocalPresence(), driver: new IndexedDriver() });
 */
import type { IRoomCache, MatchMakerDriver, RoomCache, SortOptions } from '@colyseus/core';

/** Fields that change while a room lives: never indexed, always read when a query runs. */
const LIVE_FIELDS: ReadonlySet<string> = new Set(['clients', 'locked', 'private', 'maxClients', 'unlisted', 'metadata', 'createdAt']);
/** Identity fields every listing has an accessor for, even before they are given (Colyseus sets roomId late). */
const ALWAYS_TRACKED = ['roomId'] as const;

type Conditions = Partial<IRoomCache>;

export class IndexedDriver implements MatchMakerDriver {
  /** Listings in the order they were first saved (LocalDriver's array order). */
  private readonly listed = new Set<RoomListing>();
  /** field -> value -> listings with that value, each set in first-saved order (unless `reordered`). */
  private readonly index = new Map<string, Map<unknown, Set<RoomListing>>>();
  private nextSeq = 0;
  /** Bumped by clear(): listings made before it belong to no driver any more. */
  private generation = 0;
  /** An identity field changed after save() somewhere: buckets may be out of first-saved order; sort by seq. */
  private reordered = false;
  /**
   * One accessor descriptor per identity field name, shared by every listing of this driver: V8 then gives all
   * listings the same shape (a fresh getter per listing costs ~5x on creation).
   */
  private readonly accessors = new Map<string, PropertyDescriptor>();

  createInstance(initialValues: Partial<IRoomCache> = {}): RoomCache {
    return new RoomListing(initialValues, this, this.generation);
  }

  has(roomId: string): boolean {
    return (this.index.get('roomId')?.get(roomId)?.size ?? 0) > 0;
  }

  query(conditions: Conditions, sortOptions?: SortOptions): IRoomCache[] {
    const found = this.matching(conditions);
    if (sortOptions) sortListings(found, sortOptions);
    return found;
  }

  findOne(conditions: Conditions, sortOptions?: SortOptions): Promise<RoomCache> {
    // Colyseus's type says Promise<RoomCache>; like LocalDriver's Query, this resolves `undefined` when nothing
    // matches, and Colyseus checks for that (`if (!room)`).
    return new ListingQuery(this, conditions, sortOptions) as unknown as Promise<RoomCache>;
  }

  async cleanup(processId: string): Promise<void> {
    for (const listing of this.query({ processId })) listing.remove();
  }

  clear(): void {
    this.generation++;
    this.listed.clear();
    this.index.clear();
    this.reordered = false;
  }

  shutdown(): void {}

  /** How many listings are saved (for tests and measurements). */
  get size(): number {
    return this.listed.size;
  }

  // --- called by RoomListing ------------------------------------------------------------------------------------
  /** @internal */
  accessorFor(field: string): PropertyDescriptor {
    let descriptor = this.accessors.get(field);
    if (!descriptor) this.accessors.set(field, (descriptor = RoomListing.identityAccessor(field)));
    return descriptor;
  }

  /** @internal */
  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  /** @internal Adds a listing at the end of the listing order. */
  add(listing: RoomListing, identity: ReadonlyMap<string, unknown>): number {
    this.listed.add(listing);
    for (const [field, value] of identity) if (value !== undefined) this.bucket(field, value).add(listing);
    return this.nextSeq++;
  }

  /** @internal */
  delete(listing: RoomListing, identity: ReadonlyMap<string, unknown>): void {
    this.listed.delete(listing);
    for (const [field, value] of identity) this.unbucket(field, value, listing);
  }

  /** @internal An identity field of a listed listing changed. */
  reindex(listing: RoomListing, field: string, before: unknown, after: unknown, wasTracked: boolean): void {
    if (wasTracked) this.unbucket(field, before, listing);
    // Queries never look `undefined` up in an index (it also matches listings without the field): not indexed.
    if (after !== undefined) this.bucket(field, after).add(listing);
    this.reordered = true;
  }

  /** @internal Every listing matching `conditions`, in listing order. */
  matching(conditions: Conditions): RoomListing[] {
    const found: RoomListing[] = [];
    for (const listing of this.candidates(conditions)) {
      if (listing.matches(conditions)) found.push(listing);
    }
    if (this.reordered && found.length > 1) found.sort((a, b) => a.seq - b.seq);
    return found;
  }

  /** @internal The first listing matching, in listing order (no array built when the order is intact). */
  first(conditions: Conditions): RoomListing | undefined {
    if (this.reordered) return this.matching(conditions)[0];
    for (const listing of this.candidates(conditions)) {
      if (listing.matches(conditions)) return listing;
    }
    return undefined;
  }

  /**
   * The smallest set that surely holds every match: the bucket of the most selective identity condition. A field no
   * listed listing has cannot match a defined value (every own identity field of a listed listing is indexed).
   */
  private candidates(conditions: Conditions): Iterable<RoomListing> {
    let best: Set<RoomListing> | null = null;
    for (const field in conditions) {
      if (!Object.hasOwn(conditions, field) || LIVE_FIELDS.has(field)) continue;
      const value = (conditions as Record<string, unknown>)[field];
      if (value === undefined || field in RoomListing.prototype) continue;
      const bucket = this.index.get(field)?.get(value);
      if (!bucket) return [];
      if (best === null || bucket.size < best.size) best = bucket;
    }
    return best ?? this.listed;
  }

  private bucket(field: string, value: unknown): Set<RoomListing> {
    let byValue = this.index.get(field);
    if (!byValue) this.index.set(field, (byValue = new Map()));
    let bucket = byValue.get(value);
    if (!bucket) byValue.set(value, (bucket = new Set()));
    return bucket;
  }

  private unbucket(field: string, value: unknown, listing: RoomListing): void {
    const byValue = this.index.get(field);
    const bucket = byValue?.get(value);
    if (!bucket) return;
    bucket.delete(listing);
    // Empty buckets go, or one per room ever created would stay (roomIds never repeat).
    if (bucket.size === 0) byValue!.delete(value);
    if (byValue!.size === 0) this.index.delete(field);
  }
}

/**
 * One room's listing: LocalDriver's RoomData, with its identity fields as accessors so that any assignment keeps
 * the driver's indexes right. Serializes (JSON, spread) to the same fields as RoomData.
 */
export class RoomListing implements RoomCache {
  // `any`, as in RoomCache: Colyseus reads and writes arbitrary listing fields (filterBy values, metadata).
  [field: string]: any;

  declare clients: number;
  declare locked: boolean;
  declare 'private': boolean;
  declare maxClients: number;
  declare unlisted: boolean;
  declare createdAt: Date;
  declare metadata: unknown;
  declare name: string;
  declare processId: string;
  declare roomId: string;
  declare publicAddress?: string;

  readonly #driver: IndexedDriver;
  readonly #generation: number;
  readonly #identity = new Map<string, unknown>();
  #seq = -1;
  #listed = false;
  #removed = false;

  constructor(initialValues: Partial<IRoomCache>, driver: IndexedDriver, generation: number) {
    this.#driver = driver;
    this.#generation = generation;
    // LocalDriver's defaults, then the given values over them.
    this.clients = 0;
    this.locked = false;
    this.private = false;
    this.maxClients = Infinity;
    this.unlisted = false;
    this.createdAt = new Date();
    for (const field of ALWAYS_TRACKED) this.track(field, undefined);
    for (const field in initialValues) {
      if (Object.hasOwn(initialValues, field)) this.assign(field, (initialValues as Record<string, unknown>)[field]);
    }
  }

  /** Position in the listing order. @internal */
  get seq(): number {
    return this.#seq;
  }

  save(): void {
    if (this.#removed || !this.#driver.isCurrent(this.#generation)) return;
    // Fields given by plain assignment before the first save become indexed identity fields now.
    for (const field of Object.keys(this)) {
      if (!LIVE_FIELDS.has(field) && !this.#identity.has(field)) this.track(field, this[field]);
    }
    if (this.#listed) return;
    this.#listed = true;
    this.#seq = this.#driver.add(this, this.#identity);
  }

  updateOne(operations: { $set?: Record<string, unknown>; $inc?: Record<string, number> }): void {
    if (operations.$set) {
      for (const field in operations.$set) {
        if (Object.hasOwn(operations.$set, field)) this.assign(field, operations.$set[field]);
      }
    }
    if (operations.$inc) {
      for (const field in operations.$inc) {
        if (Object.hasOwn(operations.$inc, field)) this.assign(field, this[field] + operations.$inc[field]!);
      }
    }
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    if (this.#listed && this.#driver.isCurrent(this.#generation)) this.#driver.delete(this, this.#identity);
    this.#listed = false;
  }

  /** LocalDriver's rule: every own field of `conditions` equals (===) this listing's. @internal */
  matches(conditions: Conditions): boolean {
    for (const field in conditions) {
      if (Object.hasOwn(conditions, field) && this[field] !== (conditions as Record<string, unknown>)[field]) return false;
    }
    return true;
  }

  private assign(field: string, value: unknown): void {
    if (LIVE_FIELDS.has(field) || this.#identity.has(field)) this[field] = value;
    else this.track(field, value);
  }

  /** An own, enumerable accessor for an identity field (serialized like a plain field); its setter re-indexes. */
  static identityAccessor(field: string): PropertyDescriptor {
    return {
      enumerable: true,
      configurable: true,
      get(this: RoomListing) {
        return this.#identity.get(field);
      },
      set(this: RoomListing, next: unknown) {
        this.setIdentity(field, next);
      },
    };
  }

  /** Makes a new `field` an identity field. */
  private track(field: string, value: unknown): void {
    this.#identity.set(field, value);
    Object.defineProperty(this, field, this.#driver.accessorFor(field));
    if (this.#listed && this.#driver.isCurrent(this.#generation)) this.#driver.reindex(this, field, undefined, value, false);
  }

  private setIdentity(field: string, next: unknown): void {
    const before = this.#identity.get(field);
    if (Object.is(before, next)) return;
    this.#identity.set(field, next);
    if (this.#listed && this.#driver.isCurrent(this.#generation)) this.#driver.reindex(this, field, before, next, true);
  }
}

/** The thenable `findOne` returns: LocalDriver's Query (sortable until awaited). */
class ListingQuery implements PromiseLike<RoomListing | undefined> {
  constructor(
    private readonly driver: IndexedDriver,
    private readonly conditions: Conditions,
    private sortOptions: SortOptions | undefined,
  ) {}

  sort(options: SortOptions): this {
    this.sortOptions = options;
    return this;
  }

  then<A = RoomListing | undefined, B = never>(
    onFulfilled?: ((value: RoomListing | undefined) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return new Promise<RoomListing | undefined>((resolve) => resolve(this.result())).then(onFulfilled, onRejected);
  }

  private result(): RoomListing | undefined {
    if (!this.sortOptions || !hasSortFields(this.sortOptions)) return this.driver.first(this.conditions);
    const found = this.driver.matching(this.conditions);
    sortListings(found, this.sortOptions);
    return found[0];
  }
}

function hasSortFields(options: SortOptions): boolean {
  for (const field in options) if (Object.hasOwn(options, field)) return true;
  return false;
}

/** LocalDriver's comparison: field by field, ascending for 1/'asc'/'ascending', else descending; stable. */
function sortListings(listings: IRoomCache[], options: SortOptions): void {
  const fields = Object.keys(options).map((field) => {
    const direction = options[field];
    return { field, sign: direction === 1 || direction === 'asc' || direction === 'ascending' ? 1 : -1 };
  });
  if (fields.length === 0) return;
  listings.sort((a, b) => {
    for (const { field, sign } of fields) {
      if (a[field] > b[field]) return sign;
      if (a[field] < b[field]) return -sign;
    }
    return 0;
  });
}
