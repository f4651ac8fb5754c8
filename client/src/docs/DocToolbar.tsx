/** The editor's formatting buttons, each a toggle whose pressed state follows the selection. */
import type { Editor } from '@tiptap/core';
import { useState } from 'preact/hooks';

interface Tool {
  label: string;
  text: string;
  /**
   * The button's name when its face is a word or a number rather than a symbol: it holds what is on the button, so
   * someone who says "click H1" reaches it (WCAG 2.5.3, label in name). Otherwise the name is `label`.
   */
  name?: string;
  active?: (e: Editor) => boolean;
  run: (e: Editor) => void;
}

const TOOLS: Tool[] = [
  { label: 'Bold', text: 'B', active: (e) => e.isActive('bold'), run: (e) => e.chain().focus().toggleBold().run() },
  { label: 'Italic', text: 'I', active: (e) => e.isActive('italic'), run: (e) => e.chain().focus().toggleItalic().run() },
  { label: 'Code', text: '</>', active: (e) => e.isActive('code'), run: (e) => e.chain().focus().toggleCode().run() },
  { label: 'Heading 1', text: 'H1', name: 'H1, heading 1', active: (e) => e.isActive('heading', { level: 1 }), run: (e) => e.chain().focus().toggleHeading({ level: 1 }).run() },
  { label: 'Heading 2', text: 'H2', name: 'H2, heading 2', active: (e) => e.isActive('heading', { level: 2 }), run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run() },
  { label: 'Bullet list', text: '•', active: (e) => e.isActive('bulletList'), run: (e) => e.chain().focus().toggleBulletList().run() },
  { label: 'Numbered list', text: '1.', name: '1. Numbered list', active: (e) => e.isActive('orderedList'), run: (e) => e.chain().focus().toggleOrderedList().run() },
  { label: 'Task list', text: '☐', active: (e) => e.isActive('taskList'), run: (e) => e.chain().focus().toggleTaskList().run() },
  { label: 'Code block', text: '{ }', active: (e) => e.isActive('codeBlock'), run: (e) => e.chain().focus().toggleCodeBlock().run() },
  { label: 'Undo', text: '↶', run: (e) => e.chain().focus().undo().run() },
  { label: 'Redo', text: '↷', run: (e) => e.chain().focus().redo().run() },
];

export function DocToolbar({ editor }: { editor: Editor }) {
  const [linking, setLinking] = useState<string | null>(null);
  const applyLink = (event: Event) => {
    event.preventDefault();
    const href = (linking ?? '').trim();
    const chain = editor.chain().focus().extendMarkRange('link');
    if (href === '') chain.unsetLink().run();
    else chain.setLink({ href: /^[a-z][a-z0-9+.-]*:/i.test(href) ? href : `https://${href}` }).run();
    setLinking(null);
  };
  return (
    <div class="doc-toolbar" role="toolbar" aria-label="Formatting">
      {TOOLS.map((tool) => (
        <button
          key={tool.label}
          type="button"
          class="doc-tool"
          aria-label={tool.name ?? tool.label}
          title={tool.label}
          {...(tool.active ? { 'aria-pressed': tool.active(editor) } : {})}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => tool.run(editor)}
        >
          {tool.text}
        </button>
      ))}
      {linking === null ? (
        <button
          type="button"
          class="doc-tool"
          aria-label="Link"
          title="Link"
          aria-pressed={editor.isActive('link')}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => setLinking((editor.getAttributes('link').href as string | undefined) ?? '')}
        >
          🔗
        </button>
      ) : (
        <form class="doc-link-form" onSubmit={applyLink}>
          <input
            type="text"
            aria-label="Link address"
            placeholder="https://…"
            value={linking}
            onInput={(e) => setLinking((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => e.key === 'Escape' && setLinking(null)}
          />
          <button type="submit" class="doc-tool">
            Apply
          </button>
        </form>
      )}
    </div>
  );
}
