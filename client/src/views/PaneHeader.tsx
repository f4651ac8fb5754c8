/**
 * The top of the console's pane: Back (shown on a phone, where the pane takes the list's place), the title, and what
 * goes under it (`heading`) and beside it (`children`: a conversation's actions).
 */
import type { ComponentChildren } from 'preact';

export function PaneHeader({ title, onBack, heading, children }: { title: string; onBack: () => void; heading?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="pane-header">
      <button type="button" class="button button--quiet back" onClick={onBack}>
        <span aria-hidden="true">‹ </span>Back
      </button>
      <div class="pane-heading">
        <h2 class="pane-title">{title}</h2>
        {heading}
      </div>
      {children}
    </header>
  );
}
