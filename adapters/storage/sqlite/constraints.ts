/** How the SQLite adapter tells which constraint a write broke, to answer with the KnockError that says why. */
import Database from 'better-sqlite3';

/** True for a constraint failure of this kind (e.g. UNIQUE), on `column` ("table.column") when given. */
export function isConstraint(err: unknown, kind: string, column?: string): boolean {
  if (!(err instanceof Database.SqliteError) || err.code !== `SQLITE_CONSTRAINT_${kind}`) return false;
  return column === undefined || err.message.includes(column);
}
