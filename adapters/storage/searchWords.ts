/**
 * What both SQL adapters search for when the owner types into the inbox's search box: the query cut into words, each
 * made only of letters, digits and the marks inside them. Everything else (quotes, `*`, `-`, `(`, `:`, `^`, `&`, `|`,
 * `!`...) is syntax to FTS5 or to `to_tsquery`, and splits words as the engines' tokenizers split them
 * (`invoice-march.pdf` is `invoice`, `march`, `pdf` for both), so no query can be read as an operator or fail to parse.
 */
import { limits } from '../../engine/protocol.ts';

/** A run of letters, marks and decimal digits (any script): what a word of the index can be. */
const WORD = /[\p{L}\p{M}\p{Nd}]+/gu;
/** A word must hold a letter or a digit: a lone combining mark is nothing a tokenizer keeps. */
const SEARCHABLE = /[\p{L}\p{Nd}]/u;

/**
 * The distinct words of `query`, in order; none (no search at all) when nothing searchable is left. Each is then
 * matched as a word or the start of one, ignoring case (and accents where the engine can).
 *
 * @example
 *   searchWords('"Invoice" AND(-march*')  // ['Invoice', 'AND', 'march']
 *   searchWords('" * -')                  // []
 */
export function searchWords(query: string | undefined): string[] {
  if (query === undefined) return [];
  // The HTTP layer refuses longer queries; a caller that did not check gets no more work than that from us.
  const words = query.slice(0, limits.searchChars).match(WORD) ?? [];
  return [...new Set(words.filter((w) => SEARCHABLE.test(w)))];
}
