/**
 * Chess: arrows move a cursor over the board, Enter (or Space) picks up a piece and Enter again puts it down; a
 * click does the same. Pawns reaching the last rank become queens. Black sees the board from its side.
 */
import Phaser from 'phaser';
import type { ChessView } from '../chess.ts';
import type { SceneLink } from './sceneLink.ts';

const SQUARE = 56;
const GLYPHS: Record<string, string> = { k: '♚', q: '♛', r: '♜', b: '♝', n: '♞', p: '♟' };

/** The 8x8 board of a FEN: rows from rank 8 to rank 1, each cell a piece letter (upper case white) or ''. */
function boardOf(fen: string): string[][] {
  return fen.split(' ')[0]!.split('/').map((rank) => [...rank].flatMap((ch) => (/\d/.test(ch) ? Array<string>(Number(ch)).fill('') : [ch])));
}

export function chessScene(link: SceneLink) {
  const flipped = link.seat === 1;
  const square = (file: number, rank: number) => `${'abcdefgh'[file]}${rank + 1}`;
  class ChessScene extends Phaser.Scene {
    private cursor = { file: 4, rank: flipped ? 6 : 1 };
    private picked: string | null = null;
    private graphics!: Phaser.GameObjects.Graphics;
    private pieces: Phaser.GameObjects.Text[] = [];

    create(): void {
      this.graphics = this.add.graphics();
      const unsubscribe = link.onState(() => this.draw());
      this.events.once('destroy', unsubscribe);
      this.events.once('destroy', link.onKey((event, down) => down && this.onKey(event)));
      this.input.on('pointerdown', (pointer: Phaser.Input.Pointer) => {
        const col = Math.floor(pointer.x / SQUARE);
        const row = Math.floor(pointer.y / SQUARE);
        this.cursor = flipped ? { file: 7 - col, rank: row } : { file: col, rank: 7 - row };
        this.choose();
      });
      this.draw();
      link.ready();
    }

    private onKey(event: KeyboardEvent): void {
      const step = flipped ? -1 : 1;
      const { file, rank } = this.cursor;
      if (event.key === 'ArrowLeft') this.cursor = { file: clamp(file - step), rank };
      else if (event.key === 'ArrowRight') this.cursor = { file: clamp(file + step), rank };
      else if (event.key === 'ArrowUp') this.cursor = { file, rank: clamp(rank + step) };
      else if (event.key === 'ArrowDown') this.cursor = { file, rank: clamp(rank - step) };
      else if (event.key === 'Enter' || event.key === ' ') this.choose();
      else if (event.key === 'Escape') this.picked = null;
      else return;
      event.preventDefault();
      this.draw();
    }

    private choose(): void {
      const here = square(this.cursor.file, this.cursor.rank);
      if (this.picked === null || this.picked === here) {
        this.picked = this.picked === here ? null : here;
      } else {
        if (link.seat !== null) link.move({ from: this.picked, to: here, promotion: 'q' });
        this.picked = null;
      }
      this.draw();
    }

    private draw(): void {
      const view = link.view() as ChessView | null;
      const g = this.graphics;
      g.clear();
      for (const piece of this.pieces) piece.destroy();
      this.pieces = [];
      const board = view ? boardOf(view.fen) : [];
      for (let row = 0; row < 8; row++) {
        for (let col = 0; col < 8; col++) {
          const file = flipped ? 7 - col : col;
          const rank = flipped ? row : 7 - row;
          const name = square(file, rank);
          const last = view?.last && (view.last.from === name || view.last.to === name);
          g.fillStyle((file + rank) % 2 === 0 ? 0xb58863 : 0xf0d9b5, 1);
          g.fillRect(col * SQUARE, row * SQUARE, SQUARE, SQUARE);
          if (last) {
            g.fillStyle(0xcdd26a, 0.6);
            g.fillRect(col * SQUARE, row * SQUARE, SQUARE, SQUARE);
          }
          const piece = board[7 - rank]?.[file] ?? '';
          if (piece !== '') {
            const white = piece === piece.toUpperCase();
            const text = this.add.text(col * SQUARE + SQUARE / 2, row * SQUARE + SQUARE / 2, GLYPHS[piece.toLowerCase()] ?? '?', {
              fontSize: `${SQUARE * 0.8}px`,
              color: white ? '#ffffff' : '#111111',
              stroke: white ? '#111111' : '#ffffff',
              strokeThickness: 2,
            });
            text.setOrigin(0.5);
            this.pieces.push(text);
          }
          if (this.picked === name) {
            g.lineStyle(4, 0x2f5bd3, 1);
            g.strokeRect(col * SQUARE + 2, row * SQUARE + 2, SQUARE - 4, SQUARE - 4);
          }
        }
      }
      const col = flipped ? 7 - this.cursor.file : this.cursor.file;
      const row = flipped ? this.cursor.rank : 7 - this.cursor.rank;
      g.lineStyle(3, 0xe5484d, 1);
      g.strokeRect(col * SQUARE + 1, row * SQUARE + 1, SQUARE - 2, SQUARE - 2);
    }
  }
  return { scene: ChessScene, width: 8 * SQUARE, height: 8 * SQUARE };
}

function clamp(n: number): number {
  return Math.max(0, Math.min(7, n));
}
