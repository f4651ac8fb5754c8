/**
 * The pieces the SMTP server reads a mail with (adapters/channels/email): HTML made safe to show (sanitizeHtml.ts),
 * the new text of a reply (quotes.ts) and bounces (dsn.ts).
 */
import { describe, expect, it } from 'vitest';
import { deliveryReportOf, type ReportPart } from '../../adapters/channels/email/dsn.ts';
import { newTextOf } from '../../adapters/channels/email/quotes.ts';
import { sanitizeMailHtml } from '../../adapters/channels/email/sanitizeHtml.ts';

describe('sanitizeMailHtml', () => {
  it('drops what runs, with its text: script, style, noscript, title, and comments (conditional ones too)', () => {
    const html = sanitizeMailHtml(
      '<title>Newsletter</title><style>p{color:red}</style><script>alert(1)</script><noscript>no js</noscript><!--[if mso]><script>x()</script><![endif]--><p>Hello</p>',
    );
    expect(html).toBe('<p>Hello</p>');
  });

  it('drops every event handler attribute, whatever its case or quoting', () => {
    const html = sanitizeMailHtml('<p onclick="a()" ONMOUSEOVER=b() onfocus=\'c()\'>x</p><img src="cid:a" onerror="d()"><body onload="e()">y</body>');
    expect(html).toBe('<p>x</p><img src="cid:a" />y');
  });

  it('keeps links to http(s), mailto, tel and anchors, opening in a new tab without access back; drops the rest', () => {
    const links = [
      'https://example.test/a', 'http://example.test/b', 'mailto:bob@example.test', 'tel:+491234', '#top',
      'javascript:alert(1)', ' JaVaScRiPt:alert(2)', '&#106;avascript:alert(3)', 'java\tscript:alert(4)', 'vbscript:msgbox(5)',
      'data:text/html,<script>alert(6)</script>', '/relative', '//evil.test/x', 'file:///etc/passwd',
    ];
    const html = sanitizeMailHtml(links.map((href) => `<a href="${href}">l</a>`).join(''));
    const hrefs = [...html.matchAll(/<a([^>]*)>/g)].map((m) => m[1]!.match(/href="([^"]*)"/)?.[1] ?? null);
    expect(hrefs).toEqual([
      'https://example.test/a', 'http://example.test/b', 'mailto:bob@example.test', 'tel:+491234', '#top',
      null, null, null, null, null, null, null, null, null,
    ]);
    expect(html.match(/rel="noopener noreferrer" target="_blank"/g)).toHaveLength(links.length);
  });

  it('keeps images from the mail (cid:) and https ones (blocked by the frame until asked); drops every other source and the image with it', () => {
    const html = sanitizeMailHtml(
      ['cid:logo@x', 'https://img.test/a.png', 'http://img.test/b.png', '//img.test/c.png', 'data:image/png;base64,AAAA', 'd.png', 'javascript:alert(1)']
        .map((src) => `<img src="${src}" alt="i">`)
        .join(''),
    );
    expect(html).toBe('<img alt="i" src="cid:logo@x" /><img alt="i" src="https://img.test/a.png" />');
    expect(sanitizeMailHtml('<img srcset="https://img.test/a.png 2x" alt="s">')).toBe('');
  });

  it('keeps colours, fonts, alignment, margins, paddings and borders of inline styles, and nothing with url(), expression() or escapes', () => {
    const style = [
      'color: #333', 'background-color: rgb(250, 250, 250)', "font-family: 'Helvetica Neue', Arial", 'font-size: 14px', 'text-align: center',
      'margin: 0 auto', 'padding-left: 8px', 'border: 1px solid hsl(0, 0%, 80%)',
      'background: url(https://t.test/x.gif)', 'background-image: url(x)', 'width: expression(alert(1))', 'color: \\72 ed',
      'font-family: url(x)', 'position: fixed', 'behavior: url(x.htc)', '-moz-binding: url(x.xml)', 'border: 1px solid url(x)',
    ].join('; ');
    expect(sanitizeMailHtml(`<div style="${style}">x</div>`)).toBe(
      `<div style="color:#333;background-color:rgb(250, 250, 250);font-family:'Helvetica Neue', Arial;font-size:14px;text-align:center;margin:0 auto;padding-left:8px;border:1px solid hsl(0, 0%, 80%)">x</div>`,
    );
  });

  it('drops forms and their fields, frames, plugins, meta, link and base, keeping what they say', () => {
    const html = sanitizeMailHtml(
      '<form action="https://phish.test"><label>Password <input type="password" name="p"></label><textarea>t</textarea><select><option>o</option></select><button>Log in</button></form>' +
        '<iframe src="https://evil.test"></iframe><object data="x.swf"><param name="a" value="b"></object><embed src="x.swf"><applet code="x"></applet>' +
        '<meta http-equiv="refresh" content="0;url=https://evil.test"><link rel="stylesheet" href="https://evil.test/s.css"><base href="https://evil.test/">',
    );
    expect(html).toBe('Password Log in');
  });

  it('keeps tables and formatting with their harmless attributes', () => {
    const html = sanitizeMailHtml(
      '<table width="600" cellpadding="4" border="0" class="x" id="y"><tr valign="top"><td colspan="2" bgcolor="#eee" align="left"><font color="red" face="Arial">a</font> <b>b</b> <i>c</i> <u>d</u> <s>e</s></td></tr></table><ul><li>one</li></ul><blockquote>q</blockquote><pre>p</pre>',
    );
    expect(html).toBe(
      '<table width="600" cellpadding="4" border="0"><tr valign="top"><td colspan="2" bgcolor="#eee" align="left"><font color="red" face="Arial">a</font> <b>b</b> <i>c</i> <u>d</u> <s>e</s></td></tr></table><ul><li>one</li></ul><blockquote>q</blockquote><pre>p</pre>',
    );
  });

  it('leaves nothing executable in markup built to confuse parsers (SVG, MathML, noscript and comment tricks)', () => {
    const vectors = [
      '<svg><script>alert(1)</script><a xlink:href="javascript:alert(2)"><text>s</text></a><animate onbegin="alert(3)"/></svg>',
      '<math><mtext><table><mglyph><style><img src=x onerror=alert(4)></style></mglyph></table></mtext></math>',
      '<noscript><p title="</noscript><img src=x onerror=alert(5)>"></noscript>',
      '<!--<img src="--><img src=x onerror=alert(6)//">',
      '<a href="https://ok.test" style="color:red" onmouseover="alert(7)">ok</a>',
      '<div style="background:url(javascript:alert(8))">d</div>',
    ];
    for (const vector of vectors) {
      const html = sanitizeMailHtml(vector);
      expect(html, vector).not.toMatch(/<script|<style|<svg|<math|\son\w+=|javascript:|url\(/i);
    }
  });

  it('is empty for HTML with nothing to show', () => {
    expect(sanitizeMailHtml('<script>alert(1)</script><style>x</style>')).toBe('');
  });
});

describe('newTextOf', () => {
  it.each([
    ['English', 'See you then.\n\nOn Mon, 4 Mar 2024 at 10:15, Bob <bob@example.com> wrote:\n> Lunch at noon?\n> Bob', 'See you then.'],
    ['English, wrapped over two lines (Gmail)', 'Sure.\n\nOn Tue, Mar 12, 2024 at 10:15 AM Bob Example <\nbob@example.com> wrote:\n\n> q\n> q2', 'Sure.'],
    ['German', 'Ja, gern.\n\nAm 04.03.2024 um 10:15 schrieb Bob Example <bob@example.com>:\n> Mittag?\n> > Früher', 'Ja, gern.'],
    ['French', 'Oui.\n\nLe lun. 4 mars 2024 à 10:15, Bob <bob@example.com> a écrit :\n> Midi ?', 'Oui.'],
    ['Spanish', 'Vale.\n\nEl lun, 4 mar 2024 a las 10:15, Bob (<bob@example.com>) escribió:\n> ¿Comemos?', 'Vale.'],
  ])('strips an attribution and its quote (%s)', (_language, text, expected) => {
    expect(newTextOf(text)).toBe(expected);
  });

  it.each([
    ['-----Original Message----- and the headers under it', 'Sure thing\n\n-----Original Message-----\nFrom: Bob\nSent: Monday, March 4, 2024 10:15\nTo: Alice\nSubject: Lunch\n\nLunch?'],
    ['a From:/Sent: block under a line of underscores', 'Sure thing\n\n________________________________\nFrom: Bob Example <bob@example.com>\nSent: Monday, March 4, 2024 10:15 AM\nTo: Alice\nSubject: Lunch\n\nLunch?'],
    ['a German From:/Sent: block', 'Sure thing\n\nVon: Bob Example <bob@example.com>\nGesendet: Montag, 4. März 2024 10:15\nAn: Alice\n\nMittag?'],
  ])("strips Outlook's history: %s", (_shape, text) => {
    expect(newTextOf(text)).toBe('Sure thing');
  });

  it('keeps a reply written below the quote, and the signature', () => {
    expect(newTextOf('On Mon, Bob <bob@example.com> wrote:\n> Lunch?\n\nYes, noon.\n-- \nAlice')).toBe('Yes, noon.\n-- \nAlice');
  });

  it('strips a quote at the end, before or after the signature', () => {
    expect(newTextOf('Thanks!\n\n> Here is the file.\n> Bob\n')).toBe('Thanks!');
    expect(newTextOf('Thanks!\n\n> Here is the file.\n\n-- \nAlice')).toBe('Thanks!\n\n-- \nAlice');
    expect(newTextOf('Thanks!\n-- \nAlice\n\n> Here is the file.')).toBe('Thanks!\n-- \nAlice');
  });

  it('keeps answers written between quoted lines, with the quotes they answer', () => {
    const text = '> Lunch?\nYes.\n> Where?\nThe usual place.';
    expect(newTextOf(text)).toBe(text);
  });

  it('leaves an attribution-like line alone when no quote follows it', () => {
    expect(newTextOf('On Monday I wrote:\n- the plan\n- the budget')).toBe('On Monday I wrote:\n- the plan\n- the budget');
    expect(newTextOf('From: the team\nThanks for coming.')).toBe('From: the team\nThanks for coming.');
  });

  it('gives the whole text of a mail that is nothing but a quote', () => {
    expect(newTextOf('> forwarded words\n> more')).toBe('> forwarded words\n> more');
  });
});

describe('deliveryReportOf', () => {
  const report = { value: 'multipart/report', params: { 'report-type': 'delivery-status' } };
  const part = (contentType: string, text: string): ReportPart => ({ contentType, content: Buffer.from(text.replace(/\n/g, '\r\n'), 'utf8') });
  const status = (...recipients: string[]) =>
    part('message/delivery-status', ['Reporting-MTA: dns; mx.example.org', 'Arrival-Date: Mon, 4 Mar 2024 10:15:00 +0000', '', ...recipients.flatMap((r) => [r, ''])].join('\n'));

  it('reads the failed recipient, status, diagnostic and the Message-ID of the returned headers', () => {
    const parts = [
      status('Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <bob@example.org>:\n Recipient address rejected: User unknown'),
      part('text/rfc822-headers', 'From: alice@knock.test\nMessage-ID:\n <knock.c1.4@knock.test>\nSubject: Lunch\n'),
    ];
    expect(deliveryReportOf(report, parts)).toEqual({
      originalMessageId: 'knock.c1.4@knock.test',
      recipient: 'bob@example.org',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown',
    });
  });

  it('reports the recipient that failed, not one delivered before it, and reads a returned whole message', () => {
    const parts = [
      status('Final-Recipient: rfc822; carol@example.org\nAction: delivered\nStatus: 2.0.0', 'Final-Recipient: rfc822;bob@example.org\nAction: failed\nStatus: 5.2.2 (mailbox full)\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full'),
      part('message/rfc822', 'Message-Id: <knock.c1.5@knock.test>\nSubject: Hi\n\nbody with Message-ID: <not.this@one>\n'),
    ];
    expect(deliveryReportOf(report, parts)).toEqual({ originalMessageId: 'knock.c1.5@knock.test', recipient: 'bob@example.org', status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' });
  });

  it('reads the UTF-8 form (RFC 6533) and a report without the returned message', () => {
    const parts = [part('message/global-delivery-status', 'Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: utf-8; jörg@example.org\nAction: failed\nStatus: 5.1.1')];
    expect(deliveryReportOf(report, parts)).toEqual({ originalMessageId: null, recipient: 'jörg@example.org', status: '5.1.1', diagnostic: '' });
  });

  it('is null for a mail that is no delivery report', () => {
    expect(deliveryReportOf({ value: 'multipart/mixed', params: {} }, [status('Final-Recipient: rfc822; bob@example.org')])).toBeNull();
    expect(deliveryReportOf(report, [part('text/plain', 'Your mail was read.')])).toBeNull();
    expect(deliveryReportOf(undefined, [])).toBeNull();
  });
});
