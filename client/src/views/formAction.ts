/**
 * What a form that calls the server holds: `submit` runs its action once at a time (a second press while it runs does
 * nothing), `busy` while it does, and `error`, the reason in words when it failed.
 *
 * @example
 *   const { busy, error, submit } = useFormAction(async () => void (notice.value = await save()));
 *   <form onSubmit={submit}>…<button disabled={busy.value}>Save</button></form>
 */
import type { TargetedSubmitEvent } from 'preact';
import { useSignal } from '@preact/signals';
import { errorText } from '../errorText.ts';

export function useFormAction(action: () => Promise<void>) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await action();
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };
  return { busy, error, submit };
}
