/**
 * "New document" in a conversation: asks for a title, creates the document (its card goes to everyone) and opens
 * it here. The editor itself (DocPanel) loads only when a document opens.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { limits } from '../../../engine/protocol.ts';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import { openDoc } from './docLocation.ts';

export function DocumentsBar({ session, live }: { session: ConversationSession; live: boolean }) {
  const [asking, setAsking] = useState(false);
  const [title, setTitle] = useState('');
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => session.onDocCreated((doc) => openDoc(doc.docId)), [session]);
  useEffect(() => {
    if (asking) input.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <div class="documents-bar">
        <button type="button" class="button button--quiet" onClick={() => setAsking(true)} disabled={!live}>
          New document
        </button>
      </div>
    );
  }
  const create = (event: Event) => {
    event.preventDefault();
    const name = title.trim() || 'Untitled document';
    if (session.createDocument(name)) {
      setAsking(false);
      setTitle('');
    }
  };
  return (
    <form class="documents-bar documents-bar--asking" onSubmit={create}>
      <label class="documents-bar-label">
        <span>Title</span>
        <input
          ref={input}
          type="text"
          value={title}
          maxLength={limits.titleChars}
          placeholder="Untitled document"
          onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}
        />
      </label>
      <button type="submit" class="button" disabled={!live}>
        Create document
      </button>
      <button type="button" class="button button--quiet" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </form>
  );
}
