/**
 * Games in a conversation (issue 6): "Play a game" and the game buttons, the invitation with "Accept" and
 * "Decline", and the game itself beside the chat. The board is drawn by Phaser, loaded (a separate chunk) only
 * when a game opens; the live region (role "status") says whose turn it is and the last move.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { GameKindName, GameRecord } from '../../../engine/protocol.ts';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import { GameLobby, GamePlay, type GamePlaySnapshot } from '../sdk/gameSession.ts';
import type { ConversationSnapshot } from '../sdk/types.ts';
import { useOpenSession, useSnapshot } from '../useSession.ts';

const TITLES: Record<GameKindName, string> = { connect4: 'Connect Four', chess: 'Chess', pong: 'Pong' };
const KEY_HELP: Record<GameKindName, string> = {
  connect4: 'Left and right arrows choose a column; Enter drops a disc.',
  chess: 'Arrow keys move the cursor; Enter picks up a piece and Enter again puts it down.',
  pong: 'Hold the up or down arrow to move your paddle.',
};

export function GamePanel(props: { session: ConversationSession; snapshot: ConversationSnapshot }) {
  const { session, snapshot } = props;
  const lobby = useMemo(() => new GameLobby(session), [session]);
  useEffect(() => () => lobby.close(), [lobby]);
  const games = useSnapshot(lobby).value;
  const [choosing, setChoosing] = useState(false);
  const [closedId, setClosedId] = useState<string | null>(null);
  const me = snapshot.me?.participantId ?? null;
  const latest = games?.latest ?? null;
  const nameOf = (id: string) => snapshot.participants.find((p) => p.id === id)?.name ?? 'Someone';

  const playing = latest && (latest.status === 'active' || (latest.status === 'finished' && closedId !== latest.id)) ? latest : null;
  return (
    <section class="games" aria-label="Games">
      {games?.error && <p role="alert" class="error error--inline">{games.error.message}</p>}
      {latest?.status === 'invited' && <Invitation game={latest} me={me} nameOf={nameOf} lobby={lobby} />}
      {playing && (
        <GameBoard
          key={playing.id}
          session={session}
          game={playing}
          onRematch={() => lobby.invite(playing.kind)}
          onClose={() => setClosedId(playing.id)}
          rematchOpen={games?.open !== null}
        />
      )}
      {!games?.open && !playing && (
        <div class="game-choice">
          <button type="button" aria-expanded={choosing} onClick={() => setChoosing(!choosing)}>
            Play a game
          </button>
          {choosing &&
            (Object.keys(TITLES) as GameKindName[]).map((kind) => (
              <button
                type="button"
                key={kind}
                onClick={() => {
                  setChoosing(false);
                  lobby.invite(kind);
                }}
              >
                {TITLES[kind]}
              </button>
            ))}
        </div>
      )}
    </section>
  );
}

function Invitation(props: { game: GameRecord; me: string | null; nameOf: (id: string) => string; lobby: GameLobby }) {
  const { game, me, nameOf, lobby } = props;
  const [inviter, invitee] = game.players;
  if (me === invitee) {
    return (
      <div class="game-invitation">
        <p>{nameOf(inviter)} invites you to play {TITLES[game.kind]}.</p>
        <button type="button" onClick={() => lobby.answer(game.id, true)}>Accept</button>
        <button type="button" onClick={() => lobby.answer(game.id, false)}>Decline</button>
      </div>
    );
  }
  return (
    <div class="game-invitation">
      <p>{me === inviter ? `Waiting for ${nameOf(invitee)} to accept ${TITLES[game.kind]}…` : `${nameOf(inviter)} invited ${nameOf(invitee)} to ${TITLES[game.kind]}.`}</p>
      {me === inviter && <button type="button" onClick={() => lobby.answer(game.id, false)}>Withdraw</button>}
    </div>
  );
}

function GameBoard(props: { session: ConversationSession; game: GameRecord; onRematch: () => void; onClose: () => void; rematchOpen: boolean }) {
  const { game } = props;
  const play = useOpenSession(() => GamePlay.open(props.session.joinCredentials, game.id));
  const snap = useSnapshot(play).value;
  const ready = snap !== null && snap.game !== null;
  return (
    <div class="game">
      <h2 class="game-title">{TITLES[game.kind]}: {snap ? `${snap.names[0]} vs ${snap.names[1]}` : ''}</h2>
      {play && ready && <Canvas key={`${snap.seat}`} play={play} kind={game.kind} seat={snap.seat} />}
      {!ready && <p class="muted">Opening the game…</p>}
      {snap && <p role="status" class="game-status">{statusText(snap, game.kind)}</p>}
      {snap?.error && snap.error.code !== 'rate_limited' && <p role="alert" class="error error--inline">{snap.error.message}</p>}
      {snap && <Scores snap={snap} />}
      <div class="game-actions">
        {snap && snap.result === null && snap.seat !== null && (
          <button type="button" onClick={() => play?.resign()}>Resign</button>
        )}
        {snap && snap.result !== null && (
          <>
            {snap.seat !== null && !props.rematchOpen && <button type="button" onClick={props.onRematch}>Rematch</button>}
            <button type="button" onClick={props.onClose}>Close game</button>
          </>
        )}
      </div>
    </div>
  );
}

/** Loads Phaser (its own chunk) and the scene, then draws into a focusable box that takes the keys. */
function Canvas(props: { play: GamePlay; kind: GameKindName; seat: 0 | 1 | null }) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let mounted: { destroy(): void } | null = null;
    let cancelled = false;
    import('../../../games/scenes/mountGame.ts')
      .then(({ mountGame }) => {
        if (cancelled || !box.current) return;
        const { play } = props;
        mounted = mountGame(box.current, props.kind, {
          seat: props.seat,
          view: () => play.snapshot().view,
          onState: (listener) => play.onState(listener),
          move: (move) => play.move(move),
          ready: () => setReady(true),
        });
        box.current.focus();
      })
      .catch((err: unknown) => setFailed(err instanceof Error ? err.message : String(err)));
    return () => {
      cancelled = true;
      mounted?.destroy();
    };
  }, [props.play, props.kind, props.seat]);
  return (
    <>
      <div
        ref={box}
        class="game-canvas"
        tabIndex={0}
        role="application"
        aria-busy={!ready}
        aria-label={`${TITLES[props.kind]} board. ${props.seat === null ? 'You are watching.' : KEY_HELP[props.kind]}`}
      />
      {failed && <p role="alert" class="error error--inline">The game could not be loaded: {failed}</p>}
    </>
  );
}

function statusText(snap: GamePlaySnapshot, kind: GameKindName): string {
  const { names, seat, turn, lastMove, result } = snap;
  const last = lastMove ? ` Last move: ${lastMove.text}.` : '';
  if (result) {
    const outcome = result.winner === null ? `Game over: ${result.reason === 'abandoned' ? 'abandoned' : `a draw (${result.reason})`}.` : `${result.winner === seat ? 'You won' : `${names[result.winner]} won`} (${result.reason}).`;
    return `${outcome}${last}`;
  }
  // While the game's connection is lost the board may be out of date, and a move would go nowhere: say so rather
  // than "Your turn".
  if (snap.connection === 'reconnecting') return `Reconnecting\u2026${last}`;
  if (kind === 'pong') {
    const score = (snap.view as { score?: [number, number] } | null)?.score ?? [0, 0];
    return `Score: ${names[0]} ${score[0]}, ${names[1]} ${score[1]}.`;
  }
  const away = snap.players && turn !== null && !snap.players.connected[turn] ? ` ${names[turn]} is away.` : '';
  const whose = turn === null ? '' : turn === seat ? 'Your turn.' : `${names[turn]}'s turn.`;
  return `${whose}${away}${last}`;
}

function Scores(props: { snap: GamePlaySnapshot }) {
  const { scores, game, names } = props.snap;
  if (!scores || !game) return null;
  const [a, b] = game.players;
  return (
    <p class="game-scores">
      Score in this conversation: {names[0]} {scores.wins[a] ?? 0}, {names[1]} {scores.wins[b] ?? 0}, draws {scores.draws}
    </p>
  );
}
