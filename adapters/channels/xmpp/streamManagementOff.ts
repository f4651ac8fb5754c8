/**
 * Keeps `@xmpp/client` 0.14 from enabling stream management (XEP-0198), by hiding the `<sm/>` feature the server
 * offers before the client's feature negotiation reads it.
 *
 * Why: the client counts a stanza it received just before `<enabled/>` only after resetting its counter (the count
 * runs a few microtasks late in its middleware), so its first `<a h="…"/>` acknowledges one stanza more than the
 * server sent. Prosody 0.12 answers "Client acknowledged more stanzas than sent by server" and closes the stream:
 * seen here on about one connection in three (whenever the roster result or the presence echo crossed the
 * `<enable/>`). Without stream management nothing is resumed after a drop, which Knock does not need: every new
 * session reads the roster and presence again, and a send while disconnected fails as temporary and is retried by
 * the outbox. Liveness, which stream management's `<r/>` also gave, comes from XmppChannel's keepalive ping.
 *
 * @example
 *   const xmpp = client({ service, domain, username, password });
 *   turnStreamManagementOff(xmpp);
 */
import type { XmlElement, XmppClient } from '@xmpp/client';

const NS_STREAMS = 'http://etherx.jabber.org/streams';
const NS_SM = /^urn:xmpp:sm:/;

export function turnStreamManagementOff(xmpp: XmppClient): void {
  // Runs before the middleware's own 'element' listener, which negotiates the features.
  xmpp.prependListener('element', (element: XmlElement) => {
    if (!element.is('features', NS_STREAMS)) return;
    element.children = element.children.filter((child) => typeof child === 'string' || !(child.name === 'sm' && NS_SM.test(child.attrs.xmlns ?? '')));
  });
}
