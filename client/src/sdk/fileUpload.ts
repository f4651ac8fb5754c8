/**
 * Uploads one file into a conversation: `POST /_/api/conversations/<id>/files`, multipart with one part `file`.
 * XMLHttpRequest rather than fetch, because only XHR reports upload progress (fetch's request streams do not, and
 * need HTTP/2). The owner is recognised by their session cookie; a visitor sends their conversation token as a
 * Bearer header, which keeps working where a widget's iframe gets no cookies.
 *
 * @example
 *   const upload = xhrUploader('');
 *   const ref = await upload({ target: { conversationId, token }, file, name: file.name, onProgress: (sent, total) => {}, signal });
 *   session.send('Here it is', [ref]);
 */
import { uploadAnswer, type FileRef } from '../../../engine/protocol.ts';
import { conversationPath } from './api.ts';

/** Where files go: a conversation, and the visitor's token (owners use their cookie). */
export interface UploadTarget {
  conversationId: string;
  token?: string;
}

export interface UploadRequest {
  target: UploadTarget;
  file: Blob;
  /** The file name the server keeps (made safe there). */
  name: string;
  /** Bytes of the request sent so far, of `total` (the multipart envelope included). */
  onProgress: (sent: number, total: number) => void;
  signal: AbortSignal;
}

/** Uploads a file and resolves with what the server stored; rejects with an UploadError. */
export type Uploader = (request: UploadRequest) => Promise<FileRef>;

/** Why an upload failed: the server's code and sentence (413 `too_large` names the limit), or `network`, `aborted`. */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** For `rate_limited`: when to try again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** The browser's uploader, against `base` ('' for the page's own origin). */
export function xhrUploader(base = ''): Uploader {
  return ({ target, file, name, onProgress, signal }) =>
    new Promise<FileRef>((resolve, reject) => {
      if (signal.aborted) {
        reject(new UploadError('aborted', 'The upload was cancelled.', 0));
        return;
      }
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${base}${conversationPath(target.conversationId)}/files`);
      if (target.token !== undefined) xhr.setRequestHeader('Authorization', `Bearer ${target.token}`);
      xhr.responseType = 'text';
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded, e.total);
      };
      xhr.onload = () => {
        const json = parseJson(xhr.responseText);
        if (xhr.status === 201 || xhr.status === 200) {
          const parsed = uploadAnswer.safeParse(json);
          if (parsed.success) resolve(parsed.data);
          else reject(new UploadError('internal', 'The server sent an answer this page does not understand.', xhr.status));
          return;
        }
        reject(errorOf(json, xhr.status));
      };
      xhr.onerror = () => reject(new UploadError('network', 'The upload was cut off. Check your connection and retry.', 0));
      xhr.onabort = () => reject(new UploadError('aborted', 'The upload was cancelled.', 0));
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
      const form = new FormData();
      form.append('file', file, name);
      xhr.send(form);
    });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

interface ErrorBody {
  code?: unknown;
  message?: unknown;
  data?: { retryAfterMs?: unknown };
}

/**
 * The server's `{ error: { code, message, data } }` (engine/http/io.ts), or the same fields bare, or a sentence for an
 * answer without them (a proxy's 502).
 */
function errorOf(json: unknown, status: number): UploadError {
  const body = json as (ErrorBody & { error?: ErrorBody }) | null;
  const error = body?.error ?? body;
  const code = typeof error?.code === 'string' ? error.code : status === 413 ? 'too_large' : 'internal';
  const message =
    typeof error?.message === 'string'
      ? error.message
      : status === 413
        ? 'The file is too large for this server.'
        : `The upload failed (the server answered ${status}).`;
  const retryAfterMs = typeof error?.data?.retryAfterMs === 'number' ? error.data.retryAfterMs : undefined;
  return new UploadError(code, message, status, retryAfterMs);
}
