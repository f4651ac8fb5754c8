/**
 * A database as an older Knock left it: the migration files of an adapter up to a version, copied apart, so that
 * migrating with them stops there. Tests then write rows the way that version wrote them and open the database with
 * the current code, which applies the migrations that follow (the path every upgraded installation takes).
 *
 * @example
 *   applyMigrations(db, migrationsUpTo(defaultMigrationsDir, 3, join(dir, 'migrations')));
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrations } from '../../adapters/storage/sqlite/migrate.ts';

/** Copies the migrations of `sourceDir` numbered up to `version` into `intoDir` (created), and returns `intoDir`. */
export function migrationsUpTo(sourceDir: string, version: number, intoDir: string): string {
  const kept = loadMigrations(sourceDir).filter((m) => m.version <= version);
  if (kept.at(-1)?.version !== version) throw new Error(`${sourceDir} has no migration ${version}.`);
  mkdirSync(intoDir, { recursive: true });
  for (const m of kept) writeFileSync(join(intoDir, m.name), m.sql);
  return intoDir;
}
