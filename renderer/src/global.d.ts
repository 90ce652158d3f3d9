import type { MoorApi } from '../../main/api/contract.js';

declare global {
  interface Window {
    /** The one object the preload (or the e2e bridge) exposes: the typed API contract. */
    moor: MoorApi;
  }
}
