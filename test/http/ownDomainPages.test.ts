/**
 * Issue 21, the pages an own domain serves, over raw HTTP with the Host a browser sends: at an active domain `/` and
 * `/c/<token>` are the owner's page (the shell names the owner for the app), every other path is as on any host;
 * a pending domain, a removed one and any other host get no owner.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedInOwner, type Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { WorldDns } from '../support/worldDns.ts';

const NS = ['ns1.knock.test', 'ns2.knock.test'];
let knock: TestKnock;
let world: WorldDns;
let alice: Person;

beforeAll(async () => {
  world = await WorldDns.start();
  knock = await startKnock({ dnsNameservers: NS, publicIps: ['127.0.0.1'], dnsCheckResolver: world.address });
  alice = await loggedInOwner(knock, 'alice');
  await alice.api.addDomain('alice.example');
  await alice.api.addDomain('pending.example');
  world.delegate('alice.example', NS);
  await alice.api.checkDomain('alice.example');
});
afterAll(async () => {
  await knock?.close();
  await world?.close();
});

function page(path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(knock.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const HOME = '<meta name="knock-home" content="alice">';

describe('pages of an own domain', () => {
  it('serves the owner\u2019s page at / and at a resume link, in any case of the host and with a port', async () => {
    for (const host of ['alice.example', 'ALICE.Example:8080', 'alice.example.']) {
      const home = await page('/', host);
      expect(home.status, host).toBe(200);
      expect(home.body, host).toContain(HOME);
    }
    const resume = await page('/c/abcdefghijklmnopqrstuvwx', 'alice.example');
    expect(resume.status).toBe(200);
    expect(resume.body).toContain(HOME);
    // Other paths read as on any host: /alice is Alice's page there too, without naming a home.
    expect(await page('/alice', 'alice.example')).toMatchObject({ status: 200 });
    expect((await page('/alice', 'alice.example')).body).not.toContain('knock-home');
  });

  it('names no owner for a pending domain, another host, or a domain once removed', async () => {
    for (const host of ['pending.example', 'evil.example', '127.0.0.1', '']) expect((await page('/', host)).body, host).not.toContain('knock-home');
    await alice.api.removeDomain('alice.example');
    expect((await page('/', 'alice.example')).body).not.toContain('knock-home');
  });
});
