/**
 * The open document of a conversation, over it. The editor (Tiptap, ProseMirror, Yjs: about as large as the rest of
 * the app) is a separate chunk, fetched by this dynamic import the first time a document opens.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import type { MessageView } from '../sdk/types.ts';
import { docHash, closeDoc, useOpenDoc } from './docLocation.ts';

type EditorModule = typeof import('../docs/DocEditor.tsx');

export function DocPanel({ session, messages }: { session: ConversationSession; messages: MessageView[] }) {
  const docId = useOpenDoc();
  const [editor, setEditor] = useState<EditorModule | null>(null);
  const [failed, setFailed] = useState<string | null>(null);

  useEffect(() => {
    if (docId === null || editor !== null) return;
    import('../docs/DocEditor.tsx').then(setEditor, (err: unknown) => setFailed(err instanceof Error ? err.message : String(err)));
  }, [docId, editor]);

  if (docId === null) return null;
  const card = messages.find((m) => m.event.kind === 'doc' && m.event.docId === docId);
  const title = card?.body ?? 'Document';
  return (
    <section class="doc-panel" aria-label={`Document: ${title}`} data-doc={docHash(docId)}>
      {editor === null ? (
        <div class="doc-panel-loading">
          {failed === null ? <p>Opening the document…</p> : <p role="alert">The editor could not be loaded: {failed}</p>}
          <button type="button" class="button button--quiet" onClick={closeDoc}>
            Close
          </button>
        </div>
      ) : (
        <editor.DocEditor key={docId} docId={docId} title={title} access={session.access} onClose={closeDoc} />
      )}
    </section>
  );
}
