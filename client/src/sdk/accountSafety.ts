/**
 * The calls of the owner's account safety controls (issue 22): a conversation's Block and Unblock, Settings → Blocked
 * visitors, the export of the account's data and the account's deletion. Kept out of api.ts, which every page loads
 * (the visitor's too): the views making them are loaded on demand (views/companyViews.ts), and so is this.
 *
 * @example
 *   await blockVisitor(api, conversationId);
 *   const { blocks } = await blockedVisitors(api);
 *   const { blob, name } = await exportData();   // the zip, to save as `name`
 */
import {
  blocksAnswer,
  conversationBlockAnswer,
  type BlocksAnswer,
  type ConversationBlockAnswer,
  type DeleteAccountBody,
} from '../../../engine/protocol.ts';
import { ApiError, conversationPath, type KnockApi } from './api.ts';

/** The block of a conversation's visitor, or null. */
export function conversationBlock(api: KnockApi, conversationId: string): Promise<ConversationBlockAnswer> {
  return api.request('GET', `${conversationPath(conversationId)}/block`, undefined, conversationBlockAnswer);
}

/** Blocks the conversation's visitor: their messages and knocks are refused, by their cookie and their address. */
export function blockVisitor(api: KnockApi, conversationId: string): Promise<ConversationBlockAnswer> {
  return api.request('POST', `${conversationPath(conversationId)}/block`, {}, conversationBlockAnswer);
}

export function unblockVisitor(api: KnockApi, conversationId: string): Promise<ConversationBlockAnswer> {
  return api.request('DELETE', `${conversationPath(conversationId)}/block`, undefined, conversationBlockAnswer);
}

/** Settings → Blocked visitors: the account's blocks, newest first. */
export function blockedVisitors(api: KnockApi): Promise<BlocksAnswer> {
  return api.request('GET', '/_/api/blocks', undefined, blocksAnswer);
}

/** Removes a block; answers with the blocks left. */
export function unblock(api: KnockApi, blockId: string): Promise<BlocksAnswer> {
  return api.request('DELETE', `/_/api/blocks/${encodeURIComponent(blockId)}`, undefined, blocksAnswer);
}

/** Deletes the signed-in person's account for good, once the password (and the handle) are given again. */
export async function deleteAccount(api: KnockApi, body: DeleteAccountBody): Promise<void> {
  await api.request('POST', '/_/api/account/delete', body, null);
}

/**
 * The zip of the account's data, fetched (so a refusal, a limit reached, reads as an error on the page rather than a
 * broken download), with the name the server gives it. Browsers keep large bodies on disk, not in memory.
 */
export async function exportData(base = ''): Promise<{ blob: Blob; name: string }> {
  let res: Response;
  try {
    res = await fetch(`${base}/_/api/account/export`, { credentials: 'same-origin' });
  } catch {
    throw new ApiError('network', 'The server cannot be reached. Check your connection and try again.', 0);
  }
  if (!res.ok) {
    const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new ApiError(json?.error?.code ?? 'internal', json?.error?.message ?? `The server answered ${res.status}.`, res.status);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'knock-export.zip';
  return { blob: await res.blob(), name };
}
