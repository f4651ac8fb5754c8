/**
 * Types for the part of `@xmpp/client` 0.14 that Knock uses (the package ships none). Written from its source
 * (node_modules/@xmpp/{client,connection,reconnect,iq,stream-management,xml}); widen it when more is used.
 *
 * @example
 *   import { client, xml, type XmppClient, type XmlElement } from '@xmpp/client';
 */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

  /** An XML element (ltx's Element): a stanza, or any element inside one. */
  export interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (XmlElement | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildren(name: string, xmlns?: string): XmlElement[];
    getChildElements(): XmlElement[];
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  /** `xml('message', { to }, xml('body', {}, text))`: children may be elements, strings, or nothing. */
  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: (XmlElement | string | null | undefined | false)[]
  ): XmlElement;

  export interface Jid {
    local: string;
    domain: string;
    resource: string;
    bare(): Jid;
    toString(): string;
  }
  export function jid(address: string): Jid;

  /** The connection's states, in the order they usually come. */
  export type XmppStatus =
    | 'offline' | 'connecting' | 'connect' | 'opening' | 'open' | 'online'
    | 'closing' | 'close' | 'disconnecting' | 'disconnect';

  export interface XmppClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    /** `(auth) => auth({ username, password }, 'PLAIN')` picks the mechanism (tests on a plain socket). */
    credentials?: (
      auth: (credentials: { username: string; password: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
    ) => Promise<void>;
    /** Timeout of opening and closing the stream, in milliseconds (default 2000). */
    timeout?: number;
  }

  export interface XmppReconnect extends EventEmitter {
    /** Milliseconds before the next attempt; read at each disconnect. */
    delay: number;
    start(): void;
    stop(): void;
  }

  export interface IqCaller {
    /** Sends an `<iq>` and resolves with the result stanza; rejects with the error, or after `timeoutMs`. */
    request(stanza: XmlElement, timeoutMs?: number): Promise<XmlElement>;
  }

  export interface IqContext {
    stanza: XmlElement;
    element: XmlElement;
    from: Jid | null;
  }

  export interface IqCallee {
    /** Answers `<iq type="set">` whose child is `name` in `ns`: a result with the returned element, or an error. */
    set(ns: string, name: string, handler: (context: IqContext, next: () => unknown) => unknown): void;
    get(ns: string, name: string, handler: (context: IqContext, next: () => unknown) => unknown): void;
  }

  export interface XmppClient extends EventEmitter {
    status: XmppStatus;
    jid: Jid | null;
    timeout: number;
    reconnect: XmppReconnect;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    start(): Promise<Jid>;
    stop(): Promise<unknown>;
    disconnect(): Promise<unknown>;
    send(element: XmlElement): Promise<void>;
  }

  export function client(options: XmppClientOptions): XmppClient;
}
