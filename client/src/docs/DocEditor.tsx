/**
 * The document editor: Tiptap (ProseMirror) bound to the document's Y.Doc through the Collaboration extensions,
 * kept in step by DocProvider. Loaded as a chunk of its own (views/DocPanel.tsx) when a document opens.
 *
 * Undo and redo are Yjs's (Y.UndoManager through y-prosemirror): they undo this person's own edits only, never
 * someone else's. Pasting from other apps goes through ProseMirror's HTML parser, so headings, lists, links and
 * code keep their shape. The editor injects no <style> and no style attributes (the CSP forbids both): docs.css
 * holds what Tiptap would inject, and remote selections are drawn by class.
 */
import { Editor } from '@tiptap/core';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { TaskItem, TaskList } from '@tiptap/extension-list';
import StarterKit from '@tiptap/starter-kit';
import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { ErrorPayload } from '../../../engine/protocol.ts';
import type { KeyValueStore } from '../sdk/types.ts';
import { DocProvider, type DocStatus } from '../sdk/docProvider.ts';
import { exportHtml, exportMarkdown } from './docExport.ts';
import { DocToolbar } from './DocToolbar.tsx';

export interface DocEditorProps {
  docId: string;
  title: string;
  /** The conversation's server, credentials and store (the document's copy is kept where its messages are). */
  access: { endpoint: string; token?: string; store: KeyValueStore };
  onClose: () => void;
}

/**
 * Cursor colours, picked by the editor's Yjs client id; readable on light and dark backgrounds. Each is also the
 * background of the white name label on the cursor, so white on it reaches 4.5:1 (WCAG AA): 4.6:1 to 5.7:1.
 */
const COLORS = ['#2563eb', '#db2777', '#15803d', '#c2410c', '#7c3aed', '#0e7490', '#a16207', '#dc2626'];

export function DocEditor({ docId, title, access, onClose }: DocEditorProps) {
  const mount = useRef<HTMLDivElement>(null);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [provider, setProvider] = useState<DocProvider | null>(null);
  const [status, setStatus] = useState<DocStatus>('connecting');
  const [synced, setSynced] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [others, setOthers] = useState<string[]>([]);
  const [, redraw] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    const element = mount.current;
    if (!element) return undefined;
    const p = DocProvider.open({ endpoint: access.endpoint, docId, cache: access.store, ...(access.token ? { token: access.token } : {}) });
    const color = COLORS[p.doc.clientID % COLORS.length] ?? COLORS[0]!;
    const e = new Editor({
      element,
      injectCSS: false,
      extensions: [
        StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
        TaskList,
        TaskItem.configure({ nested: true }),
        Collaboration.configure({ document: p.doc, field: 'default' }),
        CollaborationCaret.configure({
          provider: p,
          // The server puts the conversation's name on the cursor whatever is said here; this is shown until then.
          user: { name: 'Me', color },
          selectionRender: () => ({ class: 'collaboration-carets__selection' }),
        }),
      ],
      editorProps: {
        attributes: { role: 'textbox', 'aria-label': 'Document', 'aria-multiline': 'true', class: 'doc-content' },
      },
    });
    const offs = [
      p.on('status', setStatus),
      p.on('sync', setSynced),
      p.on('error', setError),
      p.on('welcome', (w) => e.commands.updateUser({ name: w.me.name, color })),
    ];
    const onPeople = () => {
      const names: string[] = [];
      p.awareness.getStates().forEach((state, id) => {
        const name = (state as { user?: { name?: unknown } }).user?.name;
        if (id !== p.doc.clientID && typeof name === 'string') names.push(name);
      });
      setOthers(names);
    };
    p.awareness.on('change', onPeople);
    e.on('transaction', redraw);
    setProvider(p);
    setEditor(e);
    setStatus(p.status);
    return () => {
      offs.forEach((off) => off());
      p.awareness.off('change', onPeople);
      e.destroy();
      void p.destroy();
    };
  }, [docId, access.endpoint, access.token]);

  return (
    <div class="doc-editor">
      <header class="doc-header">
        <h2 class="doc-title">{provider?.welcome?.doc.title ?? title}</h2>
        <p class="doc-status" role="status">
          {statusText(status, synced)}
          {others.length > 0 && <span class="doc-people"> · Also here: {others.join(', ')}</span>}
        </p>
        <div class="doc-actions">
          <button type="button" class="button button--quiet" disabled={!editor} onClick={() => editor && exportMarkdown(editor, title)}>
            Export Markdown
          </button>
          <button type="button" class="button button--quiet" disabled={!editor} onClick={() => editor && exportHtml(editor, title)}>
            Export HTML
          </button>
          <button type="button" class="button" onClick={onClose}>
            Close document
          </button>
        </div>
      </header>
      {error !== null && (
        <div class="error error--inline error--dismissable">
          <p role="alert">{error.message}</p>
          <button type="button" class="dismiss" aria-label="Dismiss" onClick={() => setError(null)}>
            ×
          </button>
        </div>
      )}
      {editor !== null && <DocToolbar editor={editor} />}
      <div class="doc-page" ref={mount} />
    </div>
  );
}

function statusText(status: DocStatus, synced: boolean): string {
  if (status === 'connected') return synced ? 'All changes saved' : 'Loading…';
  if (status === 'connecting') return 'Connecting…';
  return 'Offline: your edits are kept here and merge when you are back online';
}
