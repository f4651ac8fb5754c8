/**
 * A rule for adapters whose data outlives a Knock version: a database written before live help (issue 19, schema
 * version 7) opens with every conversation started on no page, in its reads and in the inbox; its accounts can become
 * companies with operators, sites and page views, their new conversations keep the page they started on, and removing
 * such an account removes all of it. Each adapter's test file builds the old database its own way.
 */
import { expect } from 'vitest';
import { T0 } from './fixtures.ts';
import { inserts, type OlderDatabase } from './legacyEvents.ts';

/** The version these rows are written for: the last schema before migration 008. */
export const PRE_COMPANIES_SCHEMA_VERSION = 7;

const acme = { id: 'acc-acme-0001', handle: 'acme', display_name: 'Acme', password_hash: 'hash-of-acme', created_at: T0 };
const ann = { id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 };
const conversation = {
  id: 'conv-older-0001', owner_account_id: acme.id, token_hash: 'token-hash-older-1', last_seq: 1, created_at: T0, updated_at: T0 + 1,
};
const participants = [
  { id: 'p-owner', conversation_id: conversation.id, role: 'owner', account_id: acme.id, name: 'Acme' },
  { id: 'p-visitor', conversation_id: conversation.id, role: 'visitor', account_id: null, name: 'Vic' },
];
const message = {
  conversation_id: conversation.id, seq: 1, sender_id: 'p-visitor', client_msg_id: 'cmid-older-1', body: 'Hello', at: T0 + 1, kind: 'text', payload: null,
};

/** Writes the rows into `older` (at PRE_COMPANIES_SCHEMA_VERSION), opens it with the current code, and checks live help. */
export async function expectOlderAccountsBecomeCompanies(older: OlderDatabase): Promise<void> {
  await older.exec([
    inserts('accounts', [acme, ann]), inserts('conversations', [conversation]), inserts('participants', participants), inserts('messages', [message]),
  ].join('\n'));
  const s = await older.open();

  expect(await s.getConversation(conversation.id)).toMatchObject({ id: conversation.id, startedOn: null, lastSeq: 1 });
  expect(await s.getConversationByTokenHash(conversation.token_hash)).toMatchObject({ startedOn: null });
  expect(await s.getConversationSummary(conversation.id)).toMatchObject({ visitorName: 'Vic', startedOn: null, lastSeq: 1 });
  expect(await s.getCompany(acme.id)).toBeNull();

  expect(await s.makeCompany(acme.id, T0 + 10)).toBe(true);
  await s.addOperator({ companyId: acme.id, accountId: ann.id, role: 'admin', capacity: 3, at: T0 + 11 });
  await s.addSite(acme.id, 'https://shop.example', T0 + 12);
  await s.recordPageView({
    id: 'view-1', companyId: acme.id, visitorId: 'visitor-aaaaaaaaaaaa', url: 'https://shop.example/', title: 'Shop', referrer: '', startedAt: T0 + 13,
  });
  const startedOn = { url: 'https://shop.example/', title: 'Shop' };
  const created = await s.createConversation({ ownerAccountId: acme.id, tokenHash: 'token-hash-new', visitorName: 'Nina', startedOn, at: T0 + 14 });
  expect((await s.listConversations(acme.id, { limit: 10 })).map((c) => [c.visitorName, c.startedOn])).toEqual([['Nina', startedOn], ['Vic', null]]);
  expect((await s.companiesOf(ann.id)).map((c) => c.company.handle)).toEqual(['acme']);

  expect(await s.removeAccount('acme')).toBe(true);
  expect(await s.getConversation(created.conversation.id)).toBeNull();
  expect(await s.getConversation(conversation.id)).toBeNull();
  expect(await s.companiesOf(ann.id)).toEqual([]);
  expect(await s.visitorHistory(acme.id, 'visitor-aaaaaaaaaaaa')).toEqual({ pages: 0, firstSeenAt: null });
}
