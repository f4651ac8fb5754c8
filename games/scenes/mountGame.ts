/**
 * The browser half of games/ (issue 6): Phaser 4 scenes that draw a game and take its input. This module is the
 * entry of a separate chunk, imported only when a game opens, so Phaser (about 370 KB gzipped) never weighs on
 * the conversation page. Phaser cannot load in Node: nothing outside the browser bundle imports this folder.
 *
 * Renderer: Canvas, not WebGL. These are flat 2D drawings; Canvas works on every machine (also without a GPU,
 * where WebGL would fall back to a slow software path or fail), and needs nothing beyond the page's CSP (no
 * workers, no blob: URLs; Phaser's built-in textures are data: images, which the CSP allows).
 */
import Phaser from 'phaser';
import type { GameKindName } from '../../engine/protocol.ts';
import { chessScene } from './chessScene.ts';
import { connectFourScene } from './connectFourScene.ts';
import { pongScene } from './pongScene.ts';
import type { SceneLink } from './sceneLink.ts';

export type { SceneLink } from './sceneLink.ts';

const scenes: Record<GameKindName, (link: SceneLink) => { scene: Phaser.Types.Scenes.SceneType; width: number; height: number }> = {
  connect4: connectFourScene,
  chess: chessScene,
  pong: pongScene,
};

/** Draws `kind` into `parent` (which takes the keyboard focus); returns how to take it down. */
export function mountGame(parent: HTMLElement, kind: GameKindName, link: Omit<SceneLink, 'onKey'>): { destroy(): void } {
  const keys = new GameKeys(parent);
  const { scene, width, height } = scenes[kind]({ ...link, onKey: (listener) => keys.listen(listener) });
  const game = new Phaser.Game({
    type: Phaser.CANVAS,
    parent,
    width,
    height,
    backgroundColor: '#1d2433',
    banner: false,
    audio: { noAudio: true },
    // Keys come from the game's own element (GameKeys), so typing in the chat never moves a piece.
    input: { keyboard: false, mouse: { preventDefaultWheel: false } },
    scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_HORIZONTALLY },
    scene,
  });
  return {
    destroy: () => {
      keys.close();
      game.destroy(true);
    },
  };
}

type KeyListener = (event: KeyboardEvent, down: boolean) => void;

/** The keys of one game element, straight from the DOM: each press and release once, in order. */
class GameKeys {
  private readonly listeners = new Set<KeyListener>();
  /** Keys down now, to release them when the element loses the focus (no keyup ever comes for those). */
  private readonly held = new Set<string>();

  constructor(private readonly element: HTMLElement) {
    element.addEventListener('keydown', this.onDown);
    element.addEventListener('keyup', this.onUp);
    element.addEventListener('blur', this.onBlur);
  }

  listen(listener: KeyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.element.removeEventListener('keydown', this.onDown);
    this.element.removeEventListener('keyup', this.onUp);
    this.element.removeEventListener('blur', this.onBlur);
    this.listeners.clear();
  }

  private readonly onDown = (event: KeyboardEvent): void => {
    this.held.add(event.key);
    this.emit(event, true);
  };

  private readonly onUp = (event: KeyboardEvent): void => {
    this.held.delete(event.key);
    this.emit(event, false);
  };

  private readonly onBlur = (): void => {
    for (const key of [...this.held]) this.emit(new KeyboardEvent('keyup', { key }), false);
    this.held.clear();
  };

  private emit(event: KeyboardEvent, down: boolean): void {
    for (const listener of [...this.listeners]) listener(event, down);
  }
}
