/**
 * The files of the message being written, one chip each: name and size, then the upload's progress, "Uploaded", or
 * the server's reason for refusing it with "Retry" and "Remove" (named with the file: "Retry photo.jpg").
 */
import type { Attachments, AttachmentsSnapshot, AttachmentView } from '../sdk/attachments.ts';
import { formatBytes } from '../sizeFormat.ts';

export function AttachmentChips({ attachments, snapshot }: { attachments: Attachments; snapshot: AttachmentsSnapshot }) {
  const { items, refusal, sendRequested, failed } = snapshot;
  if (items.length === 0 && refusal === null) return null;
  return (
    <div class="attachments">
      {refusal !== null && (
        <p role="alert" class="attachments-refusal">
          {refusal}
        </p>
      )}
      {items.length > 0 && (
        <ul class="attachment-list" aria-label="Attachments">
          {items.map((item) => (
            <Chip key={item.id} item={item} hasTarget={snapshot.hasTarget} attachments={attachments} />
          ))}
        </ul>
      )}
      {sendRequested && (
        <p class="attachments-status" aria-live="polite">
          {failed ? 'A file could not be uploaded: retry it or remove it, and the message goes.' : 'Your message goes as soon as its files are uploaded…'}
        </p>
      )}
    </div>
  );
}

function Chip({ item, hasTarget, attachments }: { item: AttachmentView; hasTarget: boolean; attachments: Attachments }) {
  return (
    <li class={`attachment attachment--${item.status}`}>
      <span class="attachment-text">
        <span class="attachment-name">{item.name}</span>
        <span class="attachment-size">{formatBytes(item.size)}</span>
      </span>
      <ChipState item={item} hasTarget={hasTarget} />
      <span class="attachment-actions">
        {item.status === 'failed' && (
          <button type="button" class="button button--small" aria-label={`Retry ${item.name}`} onClick={() => attachments.retry(item.id)}>
            Retry
          </button>
        )}
        <button type="button" class="button button--small button--quiet" aria-label={`Remove ${item.name}`} onClick={() => attachments.remove(item.id)}>
          Remove
        </button>
      </span>
    </li>
  );
}

function ChipState({ item, hasTarget }: { item: AttachmentView; hasTarget: boolean }) {
  switch (item.status) {
    case 'waiting':
      // Before a visitor's first message there is no conversation yet: the files go with it.
      return <span class="attachment-state">{hasTarget ? 'Waiting…' : 'Goes with your message'}</span>;
    case 'uploading':
      return <progress class="attachment-progress" max={100} value={Math.round(item.progress * 100)} aria-label={`Uploading ${item.name}`} />;
    case 'up':
      return <span class="attachment-state">Uploaded</span>;
    case 'failed':
      return (
        <span class="attachment-error" role="alert">
          {item.error}
        </span>
      );
  }
}
