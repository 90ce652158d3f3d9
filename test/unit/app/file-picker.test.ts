import { describe, expect, it } from 'vitest';
import {
  type DialogLike,
  electronFilePicker,
  type OpenDialogOptionsLike,
} from '../../../main/app/file-picker.js';

/** A stand-in for Electron's dialog: records each call and answers as told. */
function fakeDialog(answer: { canceled: boolean; filePaths: string[] }) {
  const calls: Array<{ window: string | null; options: OpenDialogOptionsLike }> = [];
  const dialog = {
    showOpenDialog: async (a: string | OpenDialogOptionsLike, b?: OpenDialogOptionsLike) => {
      if (typeof a === 'string') calls.push({ window: a, options: b! });
      else calls.push({ window: null, options: a });
      return answer;
    },
  } as DialogLike<string>;
  return { dialog, calls };
}

describe('electronFilePicker', () => {
  it('opens one file, hidden files shown, modal to the window, and returns its path', async () => {
    const { dialog, calls } = fakeDialog({ canceled: false, filePaths: ['/home/u/.ssh/id_ed25519'] });
    const pick = electronFilePicker(dialog, () => 'main-window');
    await expect(pick({ title: 'SSH key', defaultPath: '/home/u/.ssh' })).resolves.toBe(
      '/home/u/.ssh/id_ed25519',
    );
    expect(calls).toEqual([
      {
        window: 'main-window',
        options: {
          title: 'SSH key',
          defaultPath: '/home/u/.ssh',
          properties: ['openFile', 'showHiddenFiles', 'dontAddToRecent'],
        },
      },
    ]);
  });

  it('returns null when cancelled, and works without a window', async () => {
    const { dialog, calls } = fakeDialog({ canceled: true, filePaths: [] });
    const pick = electronFilePicker(dialog, () => null);
    await expect(pick({ title: 'SSH key' })).resolves.toBeNull();
    expect(calls[0]).toEqual({
      window: null,
      options: { title: 'SSH key', properties: ['openFile', 'showHiddenFiles', 'dontAddToRecent'] },
    });
  });
});
