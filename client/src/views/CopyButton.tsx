/** Copies a text to the clipboard and says so for a moment. */
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';

type CopyState = 'idle' | 'copied' | 'failed';

export function CopyButton({ text, label = 'Copy link' }: { text: string; label?: string }) {
  const state = useSignal<CopyState>('idle');
  useEffect(() => {
    if (state.value === 'idle') return undefined;
    const timer = setTimeout(() => (state.value = 'idle'), 2500);
    return () => clearTimeout(timer);
  }, [state.value, state]);

  const copy = async () => {
    // Undefined outside secure contexts (plain http on a LAN address), whatever the DOM types say.
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (clipboard === undefined) {
      state.value = 'failed';
      return;
    }
    try {
      await clipboard.writeText(text);
      state.value = 'copied';
    } catch (err) {
      console.error('Copying to the clipboard failed:', err);
      state.value = 'failed';
    }
  };

  return (
    <button type="button" class="button button--small" onClick={() => void copy()} aria-live="polite">
      {state.value === 'copied' ? 'Copied' : state.value === 'failed' ? 'Copy it by hand' : label}
    </button>
  );
}
