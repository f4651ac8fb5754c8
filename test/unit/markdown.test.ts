/** Markdown export of documents (client/src/docs/markdown.ts): what a person pasting it elsewhere would expect. */
import { describe, expect, it } from 'vitest';
import { toMarkdown, type DocNode } from '../../client/src/docs/markdown.ts';

const text = (t: string, marks: DocNode['marks'] = []): DocNode => ({ type: 'text', text: t, marks });
const p = (...content: DocNode[]): DocNode => ({ type: 'paragraph', content });
const doc = (...content: DocNode[]): DocNode => ({ type: 'doc', content });

describe('Markdown export', () => {
  it('writes headings, marks, links and code blocks', () => {
    const md = toMarkdown(doc(
      { type: 'heading', attrs: { level: 2 }, content: [text('Plan')] },
      p(text('very', [{ type: 'bold' }]), text(' and '), text('quite', [{ type: 'italic' }]), text(' '), text('x = 1', [{ type: 'code' }])),
      p(text('see '), text('the site', [{ type: 'link', attrs: { href: 'https://example.com/a b' } }])),
      { type: 'codeBlock', attrs: { language: 'ts' }, content: [text('const a = 1;\n```')] },
    ));
    expect(md).toBe('## Plan\n\n**very** and *quite* `x = 1`\n\nsee [the site](https://example.com/a%20b)\n\n````ts\nconst a = 1;\n```\n````\n');
  });

  it('writes bullet, numbered and task lists, nested ones indented', () => {
    const item = (...content: DocNode[]): DocNode => ({ type: 'listItem', content });
    const task = (checked: boolean, ...content: DocNode[]): DocNode => ({ type: 'taskItem', attrs: { checked }, content });
    const md = toMarkdown(doc(
      { type: 'bulletList', content: [item(p(text('one')), { type: 'bulletList', content: [item(p(text('inner')))] }), item(p(text('two')))] },
      { type: 'orderedList', attrs: { start: 3 }, content: [item(p(text('three'))), item(p(text('four')))] },
      { type: 'taskList', content: [task(true, p(text('done'))), task(false, p(text('to do')))] },
    ));
    expect(md).toBe('- one\n\n  - inner\n- two\n\n3. three\n4. four\n\n- [x] done\n- [ ] to do\n');
  });

  it('escapes text that would otherwise become markup', () => {
    expect(toMarkdown(doc(p(text('# not a heading')), p(text('2*3*4 [x]')), p(text('1. not a list'))))).toBe(
      '\\# not a heading\n\n2\\*3\\*4 \\[x\\]\n\n1\\. not a list\n',
    );
    expect(toMarkdown(doc())).toBe('');
  });
});
