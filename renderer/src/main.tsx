import '@xterm/xterm/css/xterm.css';
import './styles.css';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { connect } from './store.js';
import { connectTerminals, debugHandle } from './terminals.js';

declare global {
  interface Window {
    /** Set by the e2e test bridge only: exposes xterm buffers to the test. */
    __MOOR_E2E__?: boolean;
    __moorTerminals?: ReturnType<typeof debugHandle>;
  }
}

connectTerminals();
if (window.__MOOR_E2E__) window.__moorTerminals = debugHandle();
createRoot(document.getElementById('root')!).render(<App />);
void connect().catch((err: unknown) => {
  document.body.insertAdjacentHTML('afterbegin', '<div class="fatal"></div>');
  const el = document.querySelector('.fatal');
  if (el)
    el.textContent = `Moor could not reach its main process: ${err instanceof Error ? err.message : String(err)}`;
});
