/**
 * XMPP chat pairs and idle users for the load processes (bench/load/connections.ts routes the `xmpp` protocol here):
 * each end is a registered user logged in on its own connection (bench/load/xmppClient.ts); a message goes to the
 * other user's bare JID, as a chat client sends it, and counts as delivered when the other end's connection reads a
 * `<message>` with its id. XMPP has no per-message acknowledgement from the server, so nothing is reported as acked;
 * a message bounced as `type='error'` is reported as refused.
 *
 * @example
 *   const pair = await openXmppPair(spec, sink, 10_000);   // spec.xmpp: both users; spec.endpoint: xmpp://127.0.0.1:port
 *   pair.send(0, 'm1', 'hello');                            // sink.delivered('m1') once the other end has it
 */
import type { ChatPair, ChatSink, IdleConnection } from './connections.ts';
import type { IdleSpec, PairSpec, XmppAccount } from './messages.ts';
import { XmppConnection, xmppAddress } from './xmppClient.ts';

/** One logged-in, available user. */
export async function loginXmpp(endpoint: string, account: XmppAccount, timeoutMs: number): Promise<XmppConnection> {
  const connection = await XmppConnection.open(xmppAddress(endpoint, account.domain), timeoutMs);
  try {
    await connection.login(account.username, account.password, timeoutMs);
    return connection;
  } catch (err) {
    connection.close();
    throw err;
  }
}

const bare = (a: XmppAccount) => `${a.username}@${a.domain}`;

export async function openXmppPair(spec: PairSpec, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  if (!spec.xmpp) throw new Error('an XMPP pair needs its two accounts');
  const accounts = spec.xmpp;
  const first = await loginXmpp(spec.endpoint, accounts[0], timeoutMs);
  let second: XmppConnection;
  try {
    second = await loginXmpp(spec.endpoint, accounts[1], timeoutMs);
  } catch (err) {
    first.close();
    throw err;
  }
  const ends = [first, second] as const;
  for (const end of ends) {
    end.onMessage = (id, type) => {
      if (type === 'error') sink.refused(id, `the server bounced message ${id}`);
      else sink.delivered(id);
    };
  }
  const to = [bare(accounts[1]), bare(accounts[0])] as const;
  return {
    send(from, clientMsgId, body) {
      ends[from].sendChat(to[from], clientMsgId, body);
    },
    close: async () => {
      for (const end of ends) end.close();
    },
  };
}

export async function openXmppIdle(spec: IdleSpec, timeoutMs: number): Promise<IdleConnection> {
  if (!spec.xmpp) throw new Error('an idle XMPP connection needs its account');
  const connection = await loginXmpp(spec.endpoint, spec.xmpp, timeoutMs);
  return {
    get open() {
      return connection.open;
    },
    close: async () => connection.close(),
  };
}
