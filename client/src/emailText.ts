/**
 * The words a person reads about an email: its addresses as mail clients write them, and how far its sender could be
 * verified, as a badge with the checks behind it (SPF, DKIM, DMARC, ARC, as mailauth reported them on arrival).
 *
 * @example
 *   addressLine({ name: 'Bob Example', address: 'bob@example.net' }); // 'Bob Example <bob@example.net>'
 *   senderCheck({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false }).label; // 'Verified sender'
 */
import type { EmailAddress, EmailAuth } from '../../engine/protocol.ts';

/** "Bob Example <bob@example.net>", or the address alone when the mail gave no name (or the name is the address). */
export function addressLine(who: EmailAddress): string {
  const name = who.name.trim();
  return name === '' || name === who.address ? who.address : `${name} <${who.address}>`;
}

/** Who an email is from, in a few words (a frame's title): the name it gave, else its address. */
export function senderName(who: EmailAddress): string {
  return who.name.trim() === '' ? who.address : who.name.trim();
}

/** The subject as shown: a mail without one says so. */
export function subjectText(subject: string | null | undefined): string {
  const trimmed = subject?.trim() ?? '';
  return trimmed === '' ? '(no subject)' : trimmed;
}

export type SenderCheckTone = 'verified' | 'unverified' | 'suspicious';

export interface SenderCheck {
  /** The badge: "Verified sender", "Unverified sender", "Suspicious". */
  label: string;
  tone: SenderCheckTone;
  /** What the badge means, in a sentence. */
  meaning: string;
  /** Each check and its result, in the order mail clients list them. */
  checks: { name: 'SPF' | 'DKIM' | 'DMARC' | 'ARC'; result: string }[];
  /** The checks on one line: "SPF pass, DKIM pass, DMARC pass, ARC none". */
  summary: string;
}

/**
 * DMARC is the check that speaks for the From address a person reads (SPF and DKIM alone may vouch for another
 * domain): it passed, the sender is verified; it failed, the mail is suspicious (the server says so in `suspicious`,
 * which also keeps it out of the inbox); anything else (no policy published, a temporary error), nothing is proven.
 */
export function senderCheck(auth: EmailAuth): SenderCheck {
  const checks = [
    { name: 'SPF', result: auth.spf },
    { name: 'DKIM', result: auth.dkim },
    { name: 'DMARC', result: auth.dmarc },
    { name: 'ARC', result: auth.arc },
  ] as const;
  const summary = checks.map((c) => `${c.name} ${c.result}`).join(', ');
  const base = { checks: checks.map((c) => ({ ...c })), summary };
  if (auth.suspicious) {
    return {
      ...base,
      label: 'Suspicious',
      tone: 'suspicious',
      meaning: 'The domain of its From address says it did not send this mail (DMARC failed). Be wary of its links and files.',
    };
  }
  if (auth.dmarc === 'pass') {
    return { ...base, label: 'Verified sender', tone: 'verified', meaning: 'The domain of its From address vouches for this mail (DMARC passed).' };
  }
  return {
    ...base,
    label: 'Unverified sender',
    tone: 'unverified',
    meaning: `Nothing proves this mail comes from the domain of its From address (DMARC ${auth.dmarc}).`,
  };
}
