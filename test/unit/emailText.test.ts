/**
 * What the console says about an email (client/src/emailText.ts): addresses as mail clients write them, the subject,
 * and the sender's badge: verified only when DMARC passed, suspicious when the server marked it so.
 */
import { describe, expect, it } from 'vitest';
import type { EmailAuth } from '../../engine/protocol.ts';
import { addressLine, senderCheck, senderName, subjectText } from '../../client/src/emailText.ts';

const auth = (more: Partial<EmailAuth>): EmailAuth => ({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false, ...more });

describe('addresses and subjects', () => {
  it('writes "Name <address>", or the address alone when there is no name to add', () => {
    expect(addressLine({ name: 'Bob Example', address: 'bob@example.net' })).toBe('Bob Example <bob@example.net>');
    expect(addressLine({ name: ' ', address: 'bob@example.net' })).toBe('bob@example.net');
    expect(addressLine({ name: 'bob@example.net', address: 'bob@example.net' })).toBe('bob@example.net');
    expect(senderName({ name: '', address: 'bob@example.net' })).toBe('bob@example.net');
    expect(senderName({ name: ' Bob ', address: 'bob@example.net' })).toBe('Bob');
  });

  it('says so when a mail has no subject', () => {
    expect(subjectText('  ')).toBe('(no subject)');
    expect(subjectText(null)).toBe('(no subject)');
    expect(subjectText(' Invoice 42 ')).toBe('Invoice 42');
  });
});

describe('senderCheck', () => {
  it('verifies the sender when DMARC passed, and lists every check', () => {
    const check = senderCheck(auth({}));
    expect(check).toMatchObject({ label: 'Verified sender', tone: 'verified', summary: 'SPF pass, DKIM pass, DMARC pass, ARC none' });
    expect(check.checks.map((c) => c.name)).toEqual(['SPF', 'DKIM', 'DMARC', 'ARC']);
  });

  it('calls the mail suspicious when the server marked it so, whatever else passed', () => {
    expect(senderCheck(auth({ spf: 'pass', dmarc: 'fail', suspicious: true }))).toMatchObject({ label: 'Suspicious', tone: 'suspicious' });
  });

  it('proves nothing without a DMARC pass (no policy, a temporary error, a failure the domain does not enforce)', () => {
    for (const dmarc of ['none', 'temperror', 'fail'] as const) {
      const check = senderCheck(auth({ dmarc }));
      expect(check.label).toBe('Unverified sender');
      expect(check.meaning).toContain(`DMARC ${dmarc}`);
    }
  });
});
