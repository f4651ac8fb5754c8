/** Downloads a document as Markdown or as a standalone HTML page, named after its title. */
import type { Editor } from '@tiptap/core';
import { toMarkdown, type DocNode } from './markdown.ts';

export function exportMarkdown(editor: Editor, title: string): void {
  download(`${fileName(title)}.md`, 'text/markdown;charset=utf-8', toMarkdown(editor.getJSON() as DocNode));
}

export function exportHtml(editor: Editor, title: string): void {
  const page = `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n</head>\n<body>\n${editor.getHTML()}\n</body>\n</html>\n`;
  download(`${fileName(title)}.html`, 'text/html;charset=utf-8', page);
}

function download(name: string, type: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fileName(title: string): string {
  return title.trim().replace(/[^\p{L}\p{N}._ -]+/gu, '').replace(/\s+/g, '-').slice(0, 80) || 'document';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
