/**
 * What a Settings section says after an action: its error (an alert, read out at once) and what the action did (a
 * polite live region, kept in the page even when empty so screen readers hear its next change).
 */
export function SettingsFeedback({ error, notice }: { error: string | null; notice: string | null }) {
  return (
    <>
      {error !== null && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <p class="settings-notice" aria-live="polite">
        {notice}
      </p>
    </>
  );
}
