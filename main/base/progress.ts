/**
 * One step of a long operation (create, provision, regenerate-certs, ...). The CLI prints each as a
 * line with the elapsed time; the app shows them in the create form. `level: 'log'` carries
 * free-form output (e.g. a remote command's stderr) that belongs to the current step.
 */
export interface ProgressEvent {
  machine: string;
  step: string;
  level: 'step' | 'log' | 'warn' | 'done' | 'error';
  message: string;
  /** Milliseconds since the operation started. */
  elapsedMs: number;
}

import { debug } from './debug.js';

export type ProgressSink = (event: ProgressEvent) => void;

/** Builds a sink-bound reporter that stamps machine name and elapsed time. */
export function progressReporter(machine: string, sink: ProgressSink, started = Date.now()) {
  let step = '';
  let stepStarted = started;
  const emit = (level: ProgressEvent['level'], message: string) =>
    sink({ machine, step, level, message, elapsedMs: Date.now() - started });
  return {
    step(name: string, message = name) {
      // With -D: how long the step that ends here took (where a slow create spends its time).
      const now = Date.now();
      if (step) debug(machine, () => `step ${step} took ${now - stepStarted} ms`);
      step = name;
      stepStarted = now;
      emit('step', message);
    },
    log: (message: string) => emit('log', message),
    warn: (message: string) => emit('warn', message),
    done: (message: string) => {
      if (step) debug(machine, () => `step ${step} took ${Date.now() - stepStarted} ms`);
      emit('done', message);
    },
    error: (message: string) => emit('error', message),
  };
}
export type ProgressReporter = ReturnType<typeof progressReporter>;

/** A reporter that drops everything (for work that has nobody to report to). */
export function silentProgress(machine: string): ProgressReporter {
  return progressReporter(machine, () => {});
}
