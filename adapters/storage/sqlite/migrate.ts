/**
 * Versioned schema migrations for the SQLite adapter: plain SQL files named `NNN_description.sql`, applied in
 * numeric order, each in its own transaction, recorded in `schema_migrations`. See adapters/storage/README.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Resolved from this module, not from the cwd, so `knock` works wherever it is started. */
export const defaultMigrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE_NAME = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/** Reads the migration files of `dir`, sorted by version. Other files (a README, editor backups) are ignored. */
export function loadMigrations(dir: string): Migration[] {
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_NAME.exec(file);
    if (!match) continue;
    const version = Number(match[1]);
    const previous = seen.get(version);
    // Two files with one version would make the applied schema depend on directory order.
    if (previous !== undefined) throw new Error(`Migrations ${previous} and ${file} share version ${version}.`);
    seen.set(version, file);
    migrations.push({ version, name: file, sql: readFileSync(join(dir, file), 'utf8') });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations of `dir` that the database has not recorded yet. Returns the versions applied now.
 *
 * Each migration runs in a BEGIN IMMEDIATE transaction that re-reads `schema_migrations` first, so two processes
 * opening the same file at once cannot both apply a version, and a failing migration leaves no trace.
 *
 * @example
 *   const applied = applyMigrations(db); // [1, 2] on a new database, [] on the next open
 */
export function applyMigrations(db: Database.Database, dir: string = defaultMigrationsDir, now: () => number = Date.now): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const migrations = loadMigrations(dir);
  const isApplied = db.prepare<[number], { version: number }>('SELECT version FROM schema_migrations WHERE version = ?');
  const record = db.prepare<[number, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  refuseNewerSchema(db, migrations);

  const applied: number[] = [];
  for (const migration of migrations) {
    const applyOne = db.transaction(() => {
      if (isApplied.get(migration.version)) return false;
      db.exec(migration.sql);
      record.run(migration.version, now());
      return true;
    });
    try {
      if (applyOne.immediate()) applied.push(migration.version);
    } catch (err) {
      throw new Error(`Migration ${migration.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return applied;
}

/** An older Knock opening a database migrated by a newer one would misread it; stop before touching anything. */
function refuseNewerSchema(db: Database.Database, migrations: Migration[]): void {
  const newest = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get()?.v ?? 0;
  const known = migrations.at(-1)?.version ?? 0;
  if (newest > known) {
    throw new Error(`The database has schema version ${newest}, newer than this Knock knows (${known}). Upgrade Knock.`);
  }
}
