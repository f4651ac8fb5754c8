/**
 * Draws one of the company-only views (companyViews.ts) once its chunk is loaded: "Loading…" meanwhile, the reason
 * if it could not be fetched (with a way to try again).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ComponentProps } from 'preact';

type CompanyViews = typeof import('./companyViews.ts');
type ViewName = keyof CompanyViews;

/** `quiet`: nothing is drawn while the chunk loads (a button among others), rather than "Loading…". */
export function LazyCompanyView<N extends ViewName>({ view, props, quiet = false }: { view: N; props: ComponentProps<CompanyViews[N]>; quiet?: boolean }) {
  const [views, setViews] = useState<CompanyViews | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    import('./companyViews.ts').then(
      (loaded) => current && setViews(loaded),
      (err: unknown) => current && setFailed(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      current = false;
    };
  }, [attempt]);

  if (views !== null) {
    // The generic pairing of `view` and `props` is checked at the call site; TypeScript cannot follow it through the index.
    const View = views[view] as unknown as (p: object) => preact.JSX.Element;
    return <View {...(props as object)} />;
  }
  if (failed === null) return quiet ? null : <p class="muted padded">Loading…</p>;
  return (
    <div class="padded">
      <p role="alert" class="error error--inline">
        This part of the page could not be loaded: {failed}
      </p>
      <button
        type="button"
        class="button"
        onClick={() => {
          setFailed(null);
          setAttempt((n) => n + 1);
        }}
      >
        Try again
      </button>
    </div>
  );
}
