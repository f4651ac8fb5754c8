/**
 * Above the owner's conversations: a search box (the server searches messages, names and file names; the Inbox
 * waits for typing to pause) and filters for unread conversations, those with files, archived ones and mail that failed
 * DMARC (suspicious: listed nowhere else). A filter is a toggle: pressing the one that is on shows everything again.
 * Down arrow from the search box goes to the list.
 */
import { useId } from 'preact/hooks';
import type { InboxFilter } from '../../../engine/protocol.ts';
import { limits } from '../../../engine/protocol.ts';

const FILTERS: readonly { filter: Exclude<InboxFilter, 'all'>; label: string }[] = [
  { filter: 'unread', label: 'Unread' },
  { filter: 'files', label: 'With files' },
  { filter: 'archived', label: 'Archived' },
  { filter: 'suspicious', label: 'Suspicious' },
];

export function InboxControls({
  query,
  filter,
  onQuery,
  onFilter,
  onLeaveDown,
}: {
  query: string;
  filter: InboxFilter;
  onQuery: (query: string) => void;
  onFilter: (filter: InboxFilter) => void;
  /** Down arrow in the search box: move to the first conversation. */
  onLeaveDown: () => void;
}) {
  const id = useId();
  return (
    <div class="inbox-controls">
      <label for={id} class="visually-hidden">
        Search conversations
      </label>
      <input
        id={id}
        class="inbox-search"
        type="search"
        placeholder="Search conversations"
        autocomplete="off"
        maxLength={limits.searchChars}
        value={query}
        onInput={(e) => onQuery(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            onLeaveDown();
          }
        }}
      />
      <div class="inbox-filters" role="group" aria-label="Show only">
        {FILTERS.map(({ filter: f, label }) => (
          <button
            key={f}
            type="button"
            class="button button--small inbox-filter"
            aria-pressed={filter === f}
            onClick={() => onFilter(filter === f ? 'all' : f)}
          >
            {label}
          </button>
        ))}
      </div>
    </div>
  );
}
