/**
 * The bridge between the framework-free SDK sessions and Preact: open a session for as long as a component is
 * mounted, and mirror its snapshot into a signal so only the views that read it re-render.
 */
import { useEffect, useState } from 'preact/hooks';
import { useSignal, type ReadonlySignal } from '@preact/signals';
import { Attachments, type UploadLimits } from './sdk/attachments.ts';
import { xhrUploader, type UploadTarget } from './sdk/fileUpload.ts';

export interface SnapshotSource<S> {
  snapshot(): S;
  subscribe(listener: () => void): () => void;
}

export interface Closable {
  close(): Promise<void>;
}

/**
 * Opens a session on mount and closes it on unmount. Returns null during the first render (sessions open in an
 * effect, never during rendering). Give the component a `key` when what it opens changes.
 */
export function useOpenSession<T extends Closable>(open: () => T): T | null {
  const [session, setSession] = useState<T | null>(null);
  useEffect(() => {
    const opened = open();
    setSession(opened);
    return () => {
      opened.close().catch((err: unknown) => console.error('Closing a Knock session failed:', err));
    };
    // Opened once per mount on purpose: callers remount (key) to open something else.
  }, []);
  return session;
}

/** The session's current snapshot as a signal (null while there is no session), kept up to date until unmount. */
export function useSnapshot<S>(source: SnapshotSource<S> | null): ReadonlySignal<S | null> {
  const snapshot = useSignal<S | null>(source === null ? null : source.snapshot());
  useEffect(() => {
    if (source === null) {
      snapshot.value = null;
      return undefined;
    }
    snapshot.value = source.snapshot();
    return source.subscribe(() => {
      snapshot.value = source.snapshot();
    });
  }, [source, snapshot]);
  return snapshot;
}

/** The current time, refreshed every `everyMs`, for relative times ("5m") that must age while on screen. */
export function useNow(everyMs: number): number {
  const now = useSignal(Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      now.value = Date.now();
    }, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, now]);
  return now.value;
}

/**
 * The files of the message being written in one conversation (or, for a visitor who has not knocked, in the one to
 * come: `target` null, set later with `setTarget`), uploaded with XHR; their uploads stop on unmount.
 */
export function useAttachments(limits: UploadLimits | undefined, target: UploadTarget | null): Attachments {
  const [attachments] = useState(() => {
    const created = new Attachments({ upload: xhrUploader(), limits });
    if (target !== null) created.setTarget(target);
    return created;
  });
  useEffect(() => () => attachments.close(), [attachments]);
  return attachments;
}
