/**
 * Uploading a file into a conversation as the browser does (multipart/form-data, one part `file`), for tests that
 * drive the HTTP API from Node: the visitor by its conversation token, the owner by its cookies.
 *
 * @example
 *   const res = await uploadFile(knock.url, conversationId, 'report.pdf', bytes, { token });
 *   const ref = (await res.json()) as FileRef;
 */
import { createHash } from 'node:crypto';

export function uploadFile(
  base: string,
  conversationId: string,
  name: string,
  bytes: Uint8Array,
  auth: { token?: string; headers?: Record<string, string> },
): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return fetch(`${base}/_/api/conversations/${conversationId}/files`, {
    method: 'POST',
    body: form,
    headers: { origin: base, ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}), ...(auth.headers ?? {}) },
  });
}

/** The SHA-256 of some bytes, hex: what a byte-identical download is compared by. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
