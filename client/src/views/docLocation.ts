/**
 * Which document is open, kept in the location's hash (`#doc=<id>`): a reload reopens it, Back closes it, and the
 * page route (the IM URL) stays what it is.
 */
import { useEffect, useState } from 'preact/hooks';

const PREFIX = '#doc=';
const DOC_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function docHash(docId: string): string {
  return `${PREFIX}${docId}`;
}

export function openDocId(hash: string): string | null {
  if (!hash.startsWith(PREFIX)) return null;
  const id = hash.slice(PREFIX.length);
  return DOC_ID.test(id) ? id : null;
}

/** The open document's id, following the hash. */
export function useOpenDoc(): string | null {
  const [docId, setDocId] = useState(() => openDocId(location.hash));
  useEffect(() => {
    const sync = () => setDocId(openDocId(location.hash));
    window.addEventListener('hashchange', sync);
    return () => window.removeEventListener('hashchange', sync);
  }, []);
  return docId;
}

export function openDoc(docId: string): void {
  location.hash = docHash(docId);
}

/** Closes the document without leaving a history entry behind the conversation. */
export function closeDoc(): void {
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
