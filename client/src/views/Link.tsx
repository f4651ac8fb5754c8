/** An in-app link: a real <a href> (so it opens in a new tab, copies, and works without the router) that navigates
 * without reloading on a plain click. */
import type { ComponentChildren, TargetedMouseEvent } from 'preact';
import { useRouter } from '../router.ts';

export function Link({ href, class: className, children }: { href: string; class?: string; children: ComponentChildren }) {
  const router = useRouter();
  const onClick = (event: TargetedMouseEvent<HTMLAnchorElement>) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    router.navigate(href);
  };
  return (
    <a href={href} class={className} onClick={onClick}>
      {children}
    </a>
  );
}
