/**
 * The room authorization suite (issue 13, "Done when" 3), run on one process (test/integration) and on two processes
 * over Redis (test/scale): for every room type, an attacker holding valid identities of their own (their account's
 * session, their own conversation's token, their own document and game) and an attacker with none try joinOrCreate,
 * joinById and create on the victim's rooms, through the matchmaking route and, for joinById and create, behind it
 * (by the paths Knock does not expose: Colyseus's own calls in one process, seat reservations and creation requests
 * through Redis in a cluster), so the rooms' own checks are tested, not only the route. Every attempt is refused;
 * the victim's owner stays offline and nobody learns what is in their rooms.
 */
import { describe, expect, it } from 'vitest';
import { get, post } from './httpClient.ts';
import { RawRoom } from './rawRoom.ts';
import { waitFor } from './clients.ts';
import type { RoomType, Territory } from './roomWorld.ts';

export const ROOM_TYPES: readonly RoomType[] = ['user', 'conversation', 'doc', 'game'];

export interface AuthorizationTarget {
  /** Where the attacker's requests go (in a cluster, not the process holding the victim's rooms). */
  attackBase: string;
  victim: Territory;
  attacker: Territory;
  /**
   * Reserves a seat in the room `roomId` (of `type`) by a path Knock does not expose, for the identity established
   * for the attacker's own room of that type; resolves with what to open the socket with.
   */
  seatBehindTheRoute(type: RoomType, roomId: string): Promise<{ base: string; reservation: { room: object; sessionId: string }; headers?: Record<string, string> }>;
  /** Asks for a new room of `type` with `options` by a path Knock does not expose; resolves with the refusal. */
  createBehindTheRoute(type: RoomType, options: Record<string, unknown>): Promise<{ refused: true; message: string } | { refused: false }>;
  /** How many rooms of `type` the matchmaker lists for the victim's scope. */
  victimRooms(type: RoomType): Promise<number>;
}

/** The attacker's credentials: of their own account, of their own conversation, or none. */
type Credentials = 'session of another account' | 'token of another conversation' | 'no identity';

/** The victim's options for `type`, carried with the attacker's credentials. */
function attackOptions(target: AuthorizationTarget, type: RoomType, credentials: Credentials): { options: Record<string, unknown>; headers?: Record<string, string> } {
  const { victim, attacker } = target;
  const options = { ...victim.visitorOptions(type) };
  delete options.token;
  if (credentials === 'token of another conversation' && type !== 'user') options.token = attacker.token;
  if (credentials === 'session of another account') return { options, headers: attacker.owner.headers };
  return { options };
}

/** A matchmaking request as colyseus.js sends it, from the server's own pages (so Origin is not why it fails). */
async function matchmake(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await post(base, path, body, { origin: base, headers });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

export function roomAuthorizationSuite(label: string, target: () => AuthorizationTarget): void {
  describe(`room authorization (${label})`, () => {
    describe.each(ROOM_TYPES)('%s rooms', (type) => {
      it.each<Credentials>(['session of another account', 'token of another conversation', 'no identity'])(
        'joinOrCreate on the victim\u2019s room with the %s is refused',
        async (credentials) => {
          const t = target();
          const { options, headers } = attackOptions(t, type, credentials);
          if (type === 'user') {
            // Anyone may open an IM URL, as a visitor: the refusal is of the owner's console and presence.
            const room = await RawRoom.join(t.attackBase, 'user', options, headers);
            try {
              const welcome = (await waitFor(room, (s) => s.of('welcome').length === 1, 'welcome')).of('welcome')[0]!;
              expect(welcome.role).toBe('visitor');
              expect(welcome).not.toHaveProperty('conversations');
            } finally {
              await room.leave();
            }
          } else {
            const joined = RawRoom.join(t.attackBase, type, options, headers);
            await expect(joined).rejects.toMatchObject({ code: expect.stringMatching(/^(forbidden|unauthorized|not_found)$/) });
          }
          await expectOwnerOffline(t);
        },
      );

      it('joinById on the victim\u2019s room, with the attacker\u2019s own valid options, gets no seat from the route', async () => {
        const t = target();
        const roomId = t.victim.roomIds[type];
        for (const path of [`/_/matchmake/joinById/${roomId}`, `/matchmake/joinById/${roomId}`]) {
          const answer = await matchmake(t.attackBase, path, t.attacker.visitorOptions(type), t.attacker.owner.headers);
          expect(answer.body, path).not.toHaveProperty('sessionId');
          expect(answer.status, path).toBeGreaterThanOrEqual(400);
        }
      });

      it('a seat in the victim\u2019s room reserved for the attacker\u2019s own room is refused inside the room', async () => {
        const t = target();
        const seat = await t.seatBehindTheRoute(type, t.victim.roomIds[type]);
        const opened = RawRoom.consume(seat.base, seat.reservation, seat.headers);
        await expect(opened).rejects.toThrow(/may not join this room/);
        await expectOwnerOffline(t);
      });

      it.each<Credentials>(['session of another account', 'token of another conversation', 'no identity'])(
        'create of a second room for the victim\u2019s scope through the route gets no seat (with the %s)',
        async (credentials) => {
          const t = target();
          const { options, headers } = attackOptions(t, type, credentials);
          for (const path of [`/_/matchmake/create/${type}`, `/matchmake/create/${type}`]) {
            const answer = await matchmake(t.attackBase, path, options, headers);
            expect(answer.body, path).not.toHaveProperty('sessionId');
          }
          expect(await t.victimRooms(type)).toBe(1);
        },
      );

      it('a second room for the victim\u2019s scope, asked for behind the route, is refused: one room per scope', async () => {
        const t = target();
        const outcome = await t.createBehindTheRoute(type, t.victim.visitorOptions(type));
        expect(outcome).toMatchObject({ refused: true, message: expect.stringMatching(/moving to another server/) });
        expect(await t.victimRooms(type)).toBe(1);
      });
    });
  });
}

/** The victim's URL still says its owner is offline: no attempt made the attacker count as the owner's device. */
async function expectOwnerOffline(t: AuthorizationTarget): Promise<void> {
  const res = await get(t.attackBase, `/_/api/profile/${t.victim.handle}`);
  expect(((await res.json()) as { online: boolean }).online).toBe(false);
}
