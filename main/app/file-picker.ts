/**
 * The create form's Browse…: Electron's open-file dialog, attached to the app's window when
 * there is one. Thin: the dialog and the window are injected (unit tests pass fakes).
 */
import type { FilePicker } from '../services/app-services.js';

/** The part of Electron's OpenDialogOptions used here. */
export interface OpenDialogOptionsLike {
  title: string;
  defaultPath?: string;
  properties: Array<'openFile' | 'showHiddenFiles' | 'dontAddToRecent'>;
}

/** The parts of Electron's `dialog` used here. */
export interface DialogLike<W> {
  showOpenDialog(
    window: W,
    options: OpenDialogOptionsLike,
  ): Promise<{ canceled: boolean; filePaths: string[] }>;
  showOpenDialog(options: OpenDialogOptionsLike): Promise<{ canceled: boolean; filePaths: string[] }>;
}

/**
 * A FilePicker on `dialog`: one existing file (hidden ones shown: keys live in ~/.ssh), modal to
 * `window()` when that returns one; null when the user cancelled.
 */
export function electronFilePicker<W>(dialog: DialogLike<W>, window: () => W | null): FilePicker {
  return async ({ title, defaultPath }) => {
    const options: OpenDialogOptionsLike = {
      title,
      ...(defaultPath ? { defaultPath } : {}),
      properties: ['openFile', 'showHiddenFiles', 'dontAddToRecent'],
    };
    const parent = window();
    const result = parent
      ? await dialog.showOpenDialog(parent, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  };
}
