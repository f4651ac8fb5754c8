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
export function mountGame(parent: HTMLElement, kind: GameKindName, link: SceneLink): { destroy(): void } {
  const { scene, width, height } = scenes[kind](link);
  const game = new Phaser.Game({
    type: Phaser.CANVAS,
    parent,
    width,
    height,
    backgroundColor: '#1d2433',
    banner: false,
    audio: { noAudio: true },
    // Keys are read from the game's own element, so typing in the chat never moves a piece.
    input: { keyboard: { target: parent }, mouse: { preventDefaultWheel: false } },
    scale: { mode: Phaser.Scale.FIT, autoCenter: Phaser.Scale.CENTER_HORIZONTALLY },
    scene,
  });
  return { destroy: () => game.destroy(true) };
}
