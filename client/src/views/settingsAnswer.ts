/**
 * What a Settings section whose every change answers with the section's whole state (Settings → Phone number,
 * Settings → Domains) holds: the state the server last gave, the error or the notice of the last change, and `act`,
 * which runs a change, shows the server's answer and says what happened (or why it was refused).
 *
 * @example
 *   const { state, error, notice, act } = useSettingsAnswer(() => api.domains());
 *   void act(() => api.addDomain(name), (answer) => `Added ${name}.`);
 */
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { errorText } from '../errorText.ts';

export function useSettingsAnswer<T>(load: () => Promise<T>) {
  const state = useSignal<T | null>(null);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);

  useEffect(() => {
    load().then(
      (answer) => (state.value = answer),
      (err: unknown) => (error.value = errorText(err)),
    );
  }, []);

  /** Resolves with whether the change was made. */
  const act = async (what: () => Promise<T>, done: (answer: T) => string): Promise<boolean> => {
    error.value = null;
    notice.value = null;
    try {
      const answer = await what();
      state.value = answer;
      notice.value = done(answer);
      return true;
    } catch (err) {
      error.value = errorText(err);
      return false;
    }
  };
  return { state, error, notice, act };
}
