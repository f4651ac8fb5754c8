// The WAL checkpointer's thread (./checkpointer.ts): its own connection to the database, PASSIVE checkpoints when
// the main thread says the WAL grew. Plain JavaScript so it runs under any loader (tsx, vitest, plain node).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
// The checkpoint syncs the WAL before it copies, and the database file after: both here, off the event loop.
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

let dirty = false;
let timer = null;
const run = () => {
  timer = null;
  if (!dirty) return;
  dirty = false;
  try {
    checkpoint.get();
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
};

// Writes that do not say so (accounts, documents, another process such as the CLI) are caught within a second.
const poll = setInterval(() => {
  dirty = true;
  timer ??= setTimeout(run, 0);
}, 1000);

parentPort.on('message', (msg) => {
  if (msg === 'dirty') {
    dirty = true;
    // Commits of the next `intervalMs` share one checkpoint, so a page written by many of them is copied once.
    timer ??= setTimeout(run, workerData.intervalMs);
  } else if (msg === 'close') {
    clearInterval(poll);
    if (timer) clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
