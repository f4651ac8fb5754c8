/**
 * The conversation as a place to drop files: files dragged over it show "Drop files to attach them", and dropped
 * they join the message being written. While it is on screen, a drop that misses it does nothing, rather than the
 * browser's default of leaving the page to show the file.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { Attachments } from '../sdk/attachments.ts';

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

export function FileDropArea({ attachments, children }: { attachments: Attachments; children: ComponentChildren }) {
  const over = useSignal(false);
  // dragenter and dragleave fire for every child crossed: count them to know when the drag really left.
  const depth = useRef(0);

  useEffect(() => {
    const ignore = (event: DragEvent) => {
      if (carriesFiles(event)) event.preventDefault();
    };
    window.addEventListener('dragover', ignore);
    window.addEventListener('drop', ignore);
    return () => {
      window.removeEventListener('dragover', ignore);
      window.removeEventListener('drop', ignore);
    };
  }, []);

  const leave = () => {
    depth.current = 0;
    over.value = false;
  };

  return (
    <div
      class="conversation-area"
      onDragEnter={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        depth.current++;
        over.value = true;
      }}
      onDragOver={(event) => {
        if (!carriesFiles(event) || event.dataTransfer === null) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(event) => {
        if (!carriesFiles(event)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) over.value = false;
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        leave();
        attachments.add([...(event.dataTransfer?.files ?? [])]);
      }}
    >
      {children}
      {over.value && (
        <div class="drop-hint" aria-hidden="true">
          <p>Drop files to attach them</p>
        </div>
      )}
    </div>
  );
}
