/**
 * Runs a host action chosen in the list, the menu or Details: asks first where the action is
 * risky (host-actions.ts says which), then calls main through the contract. Failures become the
 * one error notice (store.attempt).
 */
import type { MachineSummary } from '../../main/api/contract.js';
import type { Navigate } from './App.js';
import { askConfirm } from './dialogs.js';
import { confirmationFor, type HostAction } from './host-actions.js';
import { attempt, getState, refreshClusters } from './store.js';
import { openTerminal } from './terminals.js';

export async function runHostAction(
  action: HostAction,
  m: MachineSummary,
  navigate: Navigate,
): Promise<void> {
  const name = m.name;
  const openTerminals = getState().terminals.filter((t) => t.machine === name && t.exitCode === null).length;
  const confirmation = confirmationFor(action, m, openTerminals);
  if (confirmation && !(await askConfirm(confirmation))) return;
  const moor = window.moor;
  switch (action) {
    case 'start':
    case 'stop':
    case 'restart':
    case 'kill':
      await attempt(() => moor[action]({ name }));
      return;
    case 'terminal':
      openTerminal(name);
      navigate({ view: 'terminals' });
      return;
    case 'use':
      await attempt(() => moor.setActiveHost({ name }));
      return;
    case 'details':
      navigate({ view: 'details', machine: name });
      return;
    case 'leave-swarm':
      await attempt(async () => {
        await moor.swarmLeave({ name });
        await refreshClusters();
      });
      return;
    case 'remove':
      // Leave a Details view only once the host is gone; a failure shows and keeps it.
      await attempt(async () => {
        await moor.remove({ name });
        navigate({ view: 'hosts' });
      });
      return;
  }
}
