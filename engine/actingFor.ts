/**
 * Who may act for an account (issue 19): the account itself, and, when the account is a company, each of its
 * operators. One rule for every door that checks "is this the owner?": the HTTP API (engine/http/requesters.ts), the
 * UserRoom (an operator's console is one of the company's devices) and a conversation's rooms
 * (rooms/conversationAccess.ts: an operator is the company's owner participant). Asked at every request and every
 * join, never remembered: an operator removed from the team loses access at the next one.
 *
 * @example
 *   const standing = await standingFor(storage, viewer.id, company.id); // { kind: 'operator', role: 'admin' } | ...
 *   if (await actsFor(storage, viewer.id, conversation.ownerAccountId)) admitAsOwner();
 */
import type { OperatorRole, Storage } from './ports/storage.ts';

/** How a signed-in account stands toward another account: as that account itself, or as one of its operators. */
export type Standing = { kind: 'self' } | { kind: 'operator'; role: OperatorRole };

/** The standing of `viewerAccountId` toward `ownerAccountId`, or null when it may not act for it. */
export async function standingFor(storage: Pick<Storage, 'getOperator'>, viewerAccountId: string, ownerAccountId: string): Promise<Standing | null> {
  if (viewerAccountId === ownerAccountId) return { kind: 'self' };
  // Operators are rows of the company (companyId is the company's account id): a person account has none.
  const operator = await storage.getOperator(ownerAccountId, viewerAccountId);
  return operator ? { kind: 'operator', role: operator.role } : null;
}

/** Whether `viewerAccountId` may act as the owner of `ownerAccountId` (itself, or one of its operators). */
export async function actsFor(storage: Pick<Storage, 'getOperator'>, viewerAccountId: string, ownerAccountId: string): Promise<boolean> {
  return (await standingFor(storage, viewerAccountId, ownerAccountId)) !== null;
}
