/**
 * What each server of the bench does with a message before the other party sees it, as established from its
 * sources and documentation (cited), so the report can set durability beside speed. A server that relays from
 * memory is faster for it; the table says so instead of leaving it to the reader.
 *
 * @example
 *   durabilityOf('prosody').fsyncBeforeDelivery   // false: written to the page cache, never fsynced
 */

export interface Durability {
  /** Where a relayed message is stored, if anywhere. */
  stores: string;
  /** True: the message is on disk (fsync) before it is acknowledged or delivered. */
  fsyncBeforeDelivery: boolean;
  /** The detail, in a sentence or three. */
  detail: string;
  /** Where that was read (source files at the version run, documentation). */
  sources: string[];
}

const table: Record<string, Durability> = {
  knock: {
    stores: 'SQLite (WAL)',
    fsyncBeforeDelivery: true,
    detail:
      'Each message is appended as it arrives; the appends of one event-loop turn are one transaction, and one fdatasync of the WAL (in the thread pool) makes them durable before the ack and the broadcast leave.',
    sources: ['bench/README.md "Relay throughput and latency"', 'adapters/storage/sqlite/'],
  },
  ws: { stores: 'nothing', fsyncBeforeDelivery: false, detail: 'Forwards the frame untouched; stores and acknowledges nothing.', sources: ['bench/servers/plainWsRelay.ts'] },
  colyseus: { stores: 'nothing', fsyncBeforeDelivery: false, detail: 'Acknowledges and relays from memory; stores nothing.', sources: ['bench/servers/bareColyseus.ts'] },
  ejabberd: {
    stores: 'SQLite (rollback journal), archive row per side',
    fsyncBeforeDelivery: true,
    detail:
      'mod_mam stores the message in the sender\u2019s archive in the sender\u2019s session process (user_send_packet hook) and in the recipient\u2019s archive in the recipient\u2019s session process before it is written to the recipient (user_receive_packet), each an INSERT in autocommit through ejabberd\u2019s one SQLite connection (sql_pool_size defaults to 1 for sqlite). ejabberd sets only "pragma foreign_keys = on", so SQLite\u2019s defaults apply: rollback journal, synchronous=FULL, an fsync per commit: two durable commits per message, one at a time (strace: 1,604 fdatasync calls for 200 messages).',
    sources: [
      'ejabberd 23.01 src/mod_mam.erl (user_send_packet/1, user_receive_packet/1; the warning recommending SQLite over Mnesia)',
      'ejabberd 23.01 src/mod_mam_sql.erl store/8, src/ejabberd_sql.erl sqlite_connect/1, src/ejabberd_options.erl (sql_pool_size: 1 for sqlite)',
      'strace -f -c -e trace=fsync,fdatasync on the running server: 1,604 fdatasync for 200 messages delivered (bench/README.md)',
    ],
  },
  ejabberdMnesia: {
    stores: 'Mnesia: transaction log, then dets table files',
    fsyncBeforeDelivery: false,
    detail:
      'mod_mam on Mnesia (its default db_type) stores the message in both archives in a Mnesia transaction; the commit is appended to LATEST.LOG with disk_log:alog, asynchronous and never synced per transaction (disk_log writes with write(2) and syncs only when sync/1 is called); the log is dumped to the table files every 1,000 writes or 3 minutes (dump_log_write_threshold, dump_log_time_threshold); the archive_msg table is disc_only_copies (dets), not synced per write either.',
    sources: [
      'OTP lib/mnesia/src/mnesia_log.erl log/1 -> append/2 -> disk_log:alog',
      'https://erlang.org/docs/20/man/disk_log (log/2: "it is not guaranteed that the term is written to disk ... sync/1 must be called")',
      'ejabberd 23.01 src/mod_mam_mnesia.erl (archive_msg: disc_only_copies; store via mnesia:transaction)',
    ],
  },
  prosody: {
    stores: 'internal storage: one append-only file per user archive',
    fsyncBeforeDelivery: false,
    detail:
      'mod_mam archives the message in the sender\u2019s and the recipient\u2019s archive (mod_storage_internal archive:append -> datamanager.list_append), each a write of the serialized item appended to <data>/<host>/archive/<user>.list followed by a stdio flush: the data reaches the kernel\u2019s page cache, no fsync (util/datamanager.lua atomic_append, util/pposix.so imports fallocate and fwrite, no fsync). A crash of the machine may lose the last seconds of archived messages; a crash of Prosody alone loses nothing written.',
    sources: [
      'Prosody 0.12.3 (Debian) /usr/lib/prosody/util/datamanager.lua (append, atomic_append: f:write + f:flush)',
      'Prosody 0.12.3 (Debian) /usr/lib/prosody/modules/mod_storage_internal.lua archive:append, /usr/lib/prosody/modules/mod_mam/mod_mam.lua message_handler',
      'nm -D /usr/lib/prosody/util/pposix.so: fallocate, fwrite, no fsync/fdatasync',
      'https://prosody.im/doc/modules/mod_mam (storage "archive", default backend internal)',
    ],
  },
};

/** The durability of a server kind of the bench (`colyseusIndexed` and `cluster` share their family's). */
export function durabilityOf(server: string): Durability | null {
  if (server === 'colyseusIndexed') return table.colyseus!;
  if (server === 'cluster') return { ...table.knock!, stores: 'PostgreSQL' };
  return table[server] ?? null;
}
