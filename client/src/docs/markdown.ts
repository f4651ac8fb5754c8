/**
 * A document (the editor's JSON: ProseMirror nodes with Tiptap's names) as Markdown, CommonMark with GitHub's task
 * lists and strikethrough. Pure and DOM-free, so unit tests run it in Node.
 *
 * @example
 *   toMarkdown({ type: 'doc', content: [{ type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Plan' }] }] });
 *   // '# Plan\n'
 */

export interface DocNode {
  type?: string;
  attrs?: Record<string, unknown>;
  content?: DocNode[];
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
  text?: string;
}

export function toMarkdown(doc: DocNode): string {
  const text = blocks(doc.content ?? []).join('\n\n');
  return text === '' ? '' : `${text}\n`;
}

function blocks(nodes: DocNode[]): string[] {
  return nodes.map(block).filter((b) => b !== null);
}

function block(node: DocNode): string | null {
  switch (node.type) {
    case 'paragraph':
      return escapeLineStart(inline(node.content ?? []));
    case 'heading': {
      const level = Math.min(6, Math.max(1, Number(node.attrs?.level ?? 1)));
      return `${'#'.repeat(level)} ${inline(node.content ?? [])}`;
    }
    case 'blockquote':
      return prefixLines(blocks(node.content ?? []).join('\n\n'), '> ', '>');
    case 'codeBlock': {
      const code = (node.content ?? []).map((t) => t.text ?? '').join('');
      const fence = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
      const language = typeof node.attrs?.language === 'string' ? node.attrs.language : '';
      return `${fence}${language}\n${code}\n${fence}`;
    }
    case 'horizontalRule':
      return '---';
    case 'bulletList':
      return list(node, () => '- ');
    case 'orderedList': {
      const start = Number(node.attrs?.start ?? 1);
      return list(node, (i) => `${start + i}. `);
    }
    case 'taskList':
      return list(node, (_i, item) => `- [${item.attrs?.checked === true ? 'x' : ' '}] `);
    default:
      // Anything else that holds blocks or text (an extension's node): keep its words.
      if (node.content) return blocks(node.content).join('\n\n') || inline(node.content);
      return node.text !== undefined ? escapeInline(node.text) : null;
  }
}

function list(node: DocNode, marker: (index: number, item: DocNode) => string): string {
  return (node.content ?? [])
    .map((item, i) => {
      const head = marker(i, item);
      const body = blocks(item.content ?? []).join('\n\n');
      return prefixLines(body, head, ' '.repeat(head.length), true);
    })
    .join('\n');
}

/** Prefixes the first line with `first` and the others with `rest` (empty lines get `rest` trimmed). */
function prefixLines(text: string, first: string, rest: string, restOnly = false): string {
  return text
    .split('\n')
    .map((line, i) => {
      const prefix = i === 0 ? first : restOnly || line !== '' ? rest : rest.trimEnd();
      return line === '' && i > 0 ? prefix.trimEnd() : `${prefix}${line}`;
    })
    .join('\n');
}

function inline(nodes: DocNode[]): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'hardBreak') {
      out += '\\\n';
      continue;
    }
    if (node.type !== 'text' || node.text === undefined) continue;
    const marks = node.marks ?? [];
    const code = marks.some((m) => m.type === 'code');
    let text = code ? codeSpan(node.text) : escapeInline(node.text);
    if (!code) {
      if (marks.some((m) => m.type === 'bold')) text = `**${text}**`;
      if (marks.some((m) => m.type === 'italic')) text = `*${text}*`;
      if (marks.some((m) => m.type === 'strike')) text = `~~${text}~~`;
    }
    const link = marks.find((m) => m.type === 'link');
    if (link && typeof link.attrs?.href === 'string') text = `[${text}](${link.attrs.href.replace(/[()\s]/g, encodeURIComponent)})`;
    out += text;
  }
  return out;
}

function codeSpan(text: string): string {
  const ticks = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${text}${pad}${ticks}`;
}

/** Characters that would turn plain words into markup. */
function escapeInline(text: string): string {
  return text.replace(/[\\`*_[\]<>~|]/g, '\\$&');
}

/** A paragraph that starts like a heading, a quote, a list item or a rule would become one. */
function escapeLineStart(line: string): string {
  return line.replace(/^(\s*)([#>+-]|\d+[.)])(?=\s|$)/, (_m, space: string, mark: string) => `${space}${mark.replace(/^(\d+)([.)])$/, '$1\\$2').replace(/^([#>+-])$/, '\\$1')}`);
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}
