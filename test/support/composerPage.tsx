/**
 * A page holding a conversation's message list and its composer with files (Composer, FileDropArea, the real
 * Attachments and XHR uploader), with the app's stylesheet and no Knock server: the test answers the uploads itself
 * (Playwright's page.route) and reads what the composer sent from `window.sent`. Sent messages show in the list as
 * the SDK would show them once stored, so the files' rendering is seen too.
 *
 * @example
 *   await page.evaluate((o) => window.showComposer(o), { conversationId: 'c1', token: 'visitor-token-0123456789', limits });
 *   await page.getByRole('button', { name: 'Attach files' }).click();
 */
import { render } from 'preact';
import { signal } from '@preact/signals';
import type { FileRef, ProfileAnswer } from '../../engine/protocol.ts';
import { Attachments } from '../../client/src/sdk/attachments.ts';
import { xhrUploader } from '../../client/src/sdk/fileUpload.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { Composer } from '../../client/src/views/Composer.tsx';
import { FileDropArea } from '../../client/src/views/FileDropArea.tsx';
import { MessageList } from '../../client/src/views/MessageList.tsx';

export interface ComposerPageOptions {
  conversationId: string;
  /** A visitor's token (sent as Bearer); absent: an owner (cookie). */
  token?: string;
  limits?: ProfileAnswer['uploads'];
}

export interface SentMessage {
  body: string;
  files: FileRef[];
}

declare global {
  interface Window {
    showComposer(options: ComposerPageOptions): void;
    sent: SentMessage[];
  }
}

window.sent = [];

window.showComposer = (options) => {
  const root = document.getElementById('app');
  if (root === null) throw new Error('The page has no #app element.');
  const attachments = new Attachments({ upload: xhrUploader(''), limits: options.limits });
  attachments.setTarget({ conversationId: options.conversationId, ...(options.token === undefined ? {} : { token: options.token }) });
  const draft = signal('');
  const messages = signal<MessageView[]>([]);
  const onSend = (body: string, files: FileRef[]) => {
    window.sent.push({ body, files });
    const at = Date.UTC(2026, 11, 6, 14, 5) + messages.value.length * 1000;
    const event = files.length > 0 ? ({ kind: 'file', files } as const) : ({ kind: 'text' } as const);
    const key = `sent-${messages.value.length}-abcdef`;
    messages.value = [...messages.value, { key, seq: messages.value.length + 1, event, body, at, senderRole: 'visitor', senderName: 'Vic', mine: true, status: 'sent' }];
    // Later, as the SDK tells its listeners (in a microtask), not from inside the composer's own update.
    queueMicrotask(draw);
  };
  const draw = () =>
    render(
      <main class="chat-card">
        <FileDropArea attachments={attachments}>
          <MessageList messages={messages.value} hasOlder={false} loadingOlder={false} onLoadOlder={() => Promise.resolve()} />
          <Composer draft={draft} attachments={attachments} onSend={onSend} onTyping={() => undefined} />
        </FileDropArea>
      </main>,
      root,
    );
  draw();
};
