/** Connect Four: arrows choose a column, Enter, Space or Down drops a disc; a click on a column drops there too. */
import Phaser from 'phaser';
import { COLUMNS, ROWS, type ConnectFourView } from '../connectFour.ts';
import type { SceneLink } from './sceneLink.ts';

const CELL = 64;
const COLORS = [0xe5484d, 0xf5d90a] as const;

export function connectFourScene(link: SceneLink) {
  class ConnectFourScene extends Phaser.Scene {
    private cursor = 3;
    private graphics!: Phaser.GameObjects.Graphics;

    create(): void {
      this.graphics = this.add.graphics();
      const unsubscribe = link.onState(() => this.draw());
      this.events.once('destroy', unsubscribe);
      this.events.once('destroy', link.onKey((event, down) => down && this.onKey(event)));
      this.input.on('pointerdown', (pointer: Phaser.Input.Pointer) => {
        this.cursor = Math.max(0, Math.min(COLUMNS - 1, Math.floor(pointer.x / CELL)));
        this.drop();
      });
      this.draw();
      link.ready();
    }

    private onKey(event: KeyboardEvent): void {
      if (event.key === 'ArrowLeft') this.cursor = (this.cursor + COLUMNS - 1) % COLUMNS;
      else if (event.key === 'ArrowRight') this.cursor = (this.cursor + 1) % COLUMNS;
      else if (event.key === 'Enter' || event.key === ' ' || event.key === 'ArrowDown') this.drop();
      else if (/^[1-7]$/.test(event.key)) this.cursor = Number(event.key) - 1;
      else return;
      event.preventDefault();
      this.draw();
    }

    private drop(): void {
      if (link.seat !== null) link.move({ column: this.cursor });
    }

    private draw(): void {
      const view = link.view() as ConnectFourView | null;
      const g = this.graphics;
      g.clear();
      if (link.seat !== null) {
        g.fillStyle(COLORS[link.seat], 1);
        g.fillCircle(this.cursor * CELL + CELL / 2, CELL / 2, CELL * 0.35);
      }
      g.fillStyle(0x2f5bd3, 1);
      g.fillRect(0, CELL, COLUMNS * CELL, ROWS * CELL);
      const winning = new Set((view?.line ?? []).map(([r, c]) => `${r},${c}`));
      for (let r = 0; r < ROWS; r++) {
        for (let c = 0; c < COLUMNS; c++) {
          const seat = view?.board[r]?.[c] ?? null;
          g.fillStyle(seat === null ? 0x1d2433 : COLORS[seat], 1);
          const x = c * CELL + CELL / 2;
          const y = CELL + r * CELL + CELL / 2;
          g.fillCircle(x, y, CELL * 0.4);
          if (winning.has(`${r},${c}`)) {
            g.lineStyle(4, 0xffffff, 1);
            g.strokeCircle(x, y, CELL * 0.4);
          }
        }
      }
    }
  }
  return { scene: ConnectFourScene, width: COLUMNS * CELL, height: (ROWS + 1) * CELL };
}
