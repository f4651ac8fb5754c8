/**
 * A page holding only the conversation's message list (client/src/views/MessageList.tsx) inside its card, with the
 * app's stylesheet: for browser tests of how each kind of message looks, without a server. The test bundles this file
 * (esbuild, as client/build.ts does), loads it into a blank page and calls `showMessages` with what to show (and, for
 * email, the conversation they are in and whether it is mailed).
 *
 * @example
 *   const page = await messageListPage(browser.newPage('reader'));
 *   await page.evaluate((m) => window.showMessages(m), [textMessage]);
 */
import { render } from 'preact';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { MessageList } from '../../client/src/views/MessageList.tsx';

export interface MessageListOptions {
  conversationId?: string;
  mailed?: boolean;
}

declare global {
  interface Window {
    showMessages(messages: MessageView[], options?: MessageListOptions): void;
  }
}

window.showMessages = (messages, options = {}) => {
  const root = document.getElementById('app');
  if (root === null) throw new Error('The page has no #app element.');
  render(
    <main class="chat-card">
      <MessageList messages={messages} hasOlder={false} loadingOlder={false} onLoadOlder={() => Promise.resolve()} {...options} />
    </main>,
    root,
  );
};
