/**
 * The widget's whole stylesheet, put inside its shadow root: nothing of it reaches the host page, and the host page's
 * rules reach only the host element (author selectors do not cross the shadow boundary) and what inherits into it.
 *
 * - `:host` is marked `!important` throughout: an author rule such as `* { display: none !important }` matches the
 *   host element too, and for important declarations the shadow context wins over the page's.
 * - `all: initial` on the host stops every inherited property (font, colour, line height, letter spacing...) at the
 *   boundary; the widget then sets its own. Custom properties are not reset by `all`, so none are used.
 * - Sizes are in px, never rem/em of the page (`html { font-size: 30px }` must not resize the button).
 * - The host is `position: fixed`: nothing enters the page's flow, so no layout shift.
 */
export const WIDGET_CSS = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  right: 20px !important;
  bottom: 20px !important;
  left: auto !important;
  top: auto !important;
  width: auto !important;
  height: auto !important;
  margin: 0 !important;
  padding: 0 !important;
  border: 0 !important;
  transform: none !important;
  filter: none !important;
  opacity: 1 !important;
  visibility: visible !important;
  z-index: 2147483647 !important;
  font: 400 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif !important;
  color: #111827 !important;
  direction: ltr !important;
  text-align: left !important;
  color-scheme: light !important;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.monitor {
  position: absolute;
  width: 0;
  height: 0;
  border: 0;
  overflow: hidden;
}
.launcher {
  display: flex;
  align-items: center;
  gap: 8px;
  height: 48px;
  margin: 0;
  padding: 0 18px 0 14px;
  border: 0;
  border-radius: 24px;
  background: #1d4ed8;
  color: #ffffff;
  font: 600 15px/1 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  letter-spacing: normal;
  text-transform: none;
  white-space: nowrap;
  cursor: pointer;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25);
}
.launcher:hover { background: #1e40af; }
button:focus { outline: none; }
button:focus-visible {
  outline: 3px solid #1d4ed8;
  outline-offset: 2px;
  box-shadow: 0 0 0 2px #ffffff;
}
.launcher:focus-visible { outline-color: #111827; }
.icon { width: 20px; height: 20px; flex: none; fill: currentColor; }
.dot {
  width: 10px;
  height: 10px;
  flex: none;
  border: 2px solid #ffffff;
  border-radius: 50%;
  background: #9ca3af;
}
.dot.on { background: #22c55e; }
.panel {
  position: fixed;
  right: 20px;
  bottom: 80px;
  display: flex;
  flex-direction: column;
  width: 360px;
  height: 560px;
  max-height: calc(100vh - 100px);
  overflow: hidden;
  border: 1px solid #d1d5db;
  border-radius: 14px;
  background: #ffffff;
  box-shadow: 0 10px 40px rgba(0, 0, 0, 0.28);
}
.bar {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 8px;
  min-height: 40px;
  padding: 4px 4px 4px 14px;
  background: #1d4ed8;
  color: #ffffff;
  font: 600 14px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.close {
  display: flex;
  align-items: center;
  justify-content: center;
  width: 36px;
  height: 36px;
  margin: 0;
  padding: 0;
  border: 0;
  border-radius: 8px;
  background: transparent;
  color: #ffffff;
  cursor: pointer;
}
.close:hover { background: #1e40af; }
.close:focus-visible { outline-color: #ffffff; box-shadow: none; outline-offset: -4px; }
.chat { flex: 1; width: 100%; min-height: 0; border: 0; background: #ffffff; }
.queue {
  margin: 0;
  padding: 8px 14px;
  border-bottom: 1px solid #d1d5db;
  background: #eff6ff;
  color: #1e3a8a;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.invite {
  position: absolute;
  right: 0;
  bottom: 60px;
  width: 300px;
  max-width: calc(100vw - 40px);
  padding: 16px;
  border: 1px solid #d1d5db;
  border-radius: 14px;
  background: #ffffff;
  color: #111827;
  box-shadow: 0 10px 40px rgba(0, 0, 0, 0.28);
}
.invite p { margin: 0 0 12px; font: 600 16px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.actions { display: flex; gap: 8px; }
.actions button {
  flex: 1;
  height: 40px;
  margin: 0;
  padding: 0 12px;
  border: 1px solid #1d4ed8;
  border-radius: 8px;
  background: #ffffff;
  color: #1d4ed8;
  font: 600 14px/1 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  cursor: pointer;
}
.actions .primary { background: #1d4ed8; color: #ffffff; }
@media (max-width: 480px) {
  .panel {
    right: 0;
    bottom: 0;
    width: 100vw;
    height: 100vh;
    height: 100dvh;
    max-height: none;
    border: 0;
    border-radius: 0;
  }
  .open .launcher { display: none; }
}
@media (prefers-reduced-motion: no-preference) {
  .launcher { transition: background-color 0.15s; }
}
`;
