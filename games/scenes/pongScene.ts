/** Pong: Up/Down (or W/S) move this device's paddle, predicted at once; the ball and the other paddle are interpolated. */
import Phaser from 'phaser';
import { PONG, type PongView } from '../pong.ts';
import { PongSmoother } from '../pongSmoothing.ts';
import type { SceneLink } from './sceneLink.ts';

export function pongScene(link: SceneLink) {
  class PongScene extends Phaser.Scene {
    private graphics!: Phaser.GameObjects.Graphics;
    private scoreText!: Phaser.GameObjects.Text;
    private readonly smoother = new PongSmoother(link.seat);
    private readonly held = { up: false, down: false };
    private sentSpeed = 0;

    create(): void {
      this.graphics = this.add.graphics();
      this.scoreText = this.add.text(PONG.width / 2, 24, '0 : 0', { fontSize: '28px', color: '#ffffff' }).setOrigin(0.5);
      const initial = link.view() as PongView | null;
      if (initial) this.smoother.push(initial, performance.now());
      const unsubscribe = link.onState((view, at) => this.smoother.push(view as PongView, at));
      this.events.once('destroy', unsubscribe);
      this.events.once('destroy', link.onKey((event, down) => this.onKey(event, down)));
      link.ready();
    }

    override update(): void {
      const frame = this.smoother.frame(performance.now());
      if (!frame) return;
      const g = this.graphics;
      g.clear();
      g.lineStyle(2, 0x4a5570, 1);
      g.lineBetween(PONG.width / 2, 0, PONG.width / 2, PONG.height);
      g.fillStyle(0xffffff, 1);
      const h = PONG.paddleHeight;
      g.fillRect(PONG.paddleX[0] - PONG.paddleWidth, frame.paddles[0] - h / 2, PONG.paddleWidth, h);
      g.fillRect(PONG.paddleX[1], frame.paddles[1] - h / 2, PONG.paddleWidth, h);
      g.fillRect(frame.ball.x - PONG.ball / 2, frame.ball.y - PONG.ball / 2, PONG.ball, PONG.ball);
      this.scoreText.setText(`${frame.score[0]} : ${frame.score[1]}`);
    }

    private onKey(event: KeyboardEvent, down: boolean): void {
      if (event.key === 'ArrowUp' || event.key === 'w') this.held.up = down;
      else if (event.key === 'ArrowDown' || event.key === 's') this.held.down = down;
      else return;
      event.preventDefault();
      const speed = this.held.up === this.held.down ? 0 : this.held.up ? -1 : 1;
      if (speed === this.sentSpeed || link.seat === null) return;
      this.sentSpeed = speed;
      this.smoother.setSpeed(speed, performance.now());
      link.move({ speed });
    }
  }
  return { scene: PongScene, width: PONG.width, height: PONG.height };
}
