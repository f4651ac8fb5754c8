/**
 * The HTML part of a received mail made safe to show (issue 17): sanitized once, on arrival, so what is stored can
 * go into the view's sandboxed frame as it is. What stays is what a letter needs: formatting, tables, links, images
 * and a few inline styles. What goes is everything that runs, submits, loads by itself or reaches outside the frame:
 *
 * - script, style elements, form and its fields, iframe, object, embed, meta, link, base, svg (their tags; the text
 *   of script, style, textarea and title with them);
 * - every attribute not on the list below, so every `on*` handler, `srcset`, `background`, `class` and `id`;
 * - links other than http(s), mailto and tel (javascript:, data:, relative ones): they open a new tab without a
 *   way back to Knock (`rel="noopener noreferrer"`, `target="_blank"`);
 * - images other than `cid:` (a part of the mail) and `https:` (the frame's CSP blocks those until the person asks
 *   for "Show images": a remote image tells the sender when and where a mail is read);
 * - inline styles except colours, fonts, alignment, margins, paddings and borders, and of those any value with a
 *   function other than rgb()/hsl() (no url(), no expression()) or a backslash (CSS escapes could spell either).
 *
 * `<style>` elements go whole: sanitize-html cannot look inside CSS, and a style sheet can load images (url()) or
 * run old IE expressions. Mail that matters is written with inline styles anyway (many clients drop style sheets too).
 *
 * @example
 *   sanitizeMailHtml('<p onclick="x()">Hi <img src="cid:logo"><script>steal()</script></p>');
 *   // '<p>Hi <img src="cid:logo" /></p>'
 */
import sanitize from 'sanitize-html';

/** A CSS value made of words, numbers, colours and rgb()/hsl() only. */
const SAFE_CSS_VALUE = /^(?:[-\w\s#%.,+!/'"]|\b(?:rgba?|hsla?)\(|\))*$/i;

const STYLE_PROPERTIES = [
  'color',
  'background-color',
  'font',
  'font-family',
  'font-size',
  'font-style',
  'font-variant',
  'font-weight',
  'text-align',
  'text-decoration',
  'line-height',
  'vertical-align',
  'white-space',
  ...['margin', 'padding'].flatMap((p) => [p, `${p}-top`, `${p}-right`, `${p}-bottom`, `${p}-left`]),
  ...['border', 'border-top', 'border-right', 'border-bottom', 'border-left'].flatMap((p) => [p, `${p}-color`, `${p}-style`, `${p}-width`]),
  'border-collapse',
  'border-radius',
];

const TABLE_CELL = ['colspan', 'rowspan', 'align', 'valign', 'width', 'height', 'bgcolor', 'nowrap'];

const options: sanitize.IOptions = {
  allowedTags: [...sanitize.defaults.allowedTags, 'img', 'font', 'center', 'strike', 'del', 'ins', 'big', 'tt'],
  allowedAttributes: {
    '*': ['style', 'dir', 'lang', 'title', 'align'],
    a: ['href', 'name', 'rel', 'target'],
    img: ['src', 'alt', 'width', 'height'],
    font: ['color', 'face', 'size'],
    table: ['width', 'border', 'cellpadding', 'cellspacing', 'bgcolor'],
    td: TABLE_CELL,
    th: TABLE_CELL,
    tr: ['valign', 'bgcolor'],
    col: ['span', 'width'],
    colgroup: ['span', 'width'],
    ol: ['start', 'type'],
    li: ['value'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['cid', 'https'] },
  allowProtocolRelative: false,
  allowedStyles: { '*': Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, [SAFE_CSS_VALUE]])) },
  // sanitize-html drops the text of these with the tag; a mail's <title> is not part of what it says.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'xmp', 'title', 'noscript'],
  transformTags: {
    // The attributes' entities are decoded here, so the checks see what a browser would follow.
    a: (tagName, attribs) => ({ tagName, attribs: { ...keepAttributeIf(attribs, 'href', /^(https?:|mailto:|tel:|#)/i), rel: 'noopener noreferrer', target: '_blank' } }),
    img: (tagName, attribs) => ({ tagName, attribs: keepAttributeIf(attribs, 'src', /^(cid:|https:\/\/)/i) }),
  },
  // An image whose source was taken away shows nothing: leave no empty box behind.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
};

/** The attributes with `name` (trimmed) only if it matches `allowed`. */
function keepAttributeIf(attribs: sanitize.Attributes, name: string, allowed: RegExp): sanitize.Attributes {
  const { [name]: value, ...rest } = attribs;
  return value !== undefined && allowed.test(value.trim()) ? { ...rest, [name]: value.trim() } : rest;
}

/** The mail's HTML with only what is safe to show left (see above); '' when nothing is. */
export function sanitizeMailHtml(html: string): string {
  return sanitize(html, options).trim();
}
