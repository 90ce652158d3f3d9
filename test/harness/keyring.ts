import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireCommand, tempDir } from './components.js';

/**
 * A private D-Bus session bus with an unlocked GNOME Keyring (Secret Service) on it: what a
 * desktop login gives `secret-tool`. Everything lives in a temp HOME; stop() kills both daemons.
 */
export interface TestKeyring {
  /** Environment for processes that should see this keyring (secret-tool, the moor CLI). */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startTestKeyring(): Promise<TestKeyring> {
  const dbusDaemon = requireCommand('dbus-daemon', 'dbus-daemon');
  const keyringDaemon = requireCommand('gnome-keyring-daemon', 'gnome-keyring');
  requireCommand('secret-tool', 'libsecret-tools');
  const { dir, cleanup } = tempDir('moor-keyring');
  const runtime = path.join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    cleanup();
  };
  try {
    // A session bus WITHOUT service activation: otherwise a secret-tool call racing the keyring's
    // start makes dbus launch a second, locked gnome-keyring that takes the name and prompts.
    const config = path.join(dir, 'session.conf');
    writeFileSync(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${path.join(dir, 'bus')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
    );
    const bus = spawn(dbusDaemon, [`--config-file=${config}`, '--nofork', '--print-address=1'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(bus);
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      bus.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
      });
      bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: dir,
      XDG_RUNTIME_DIR: runtime,
      XDG_DATA_HOME: path.join(dir, 'data'),
      DBUS_SESSION_BUS_ADDRESS: address,
    };
    const keyring = spawn(keyringDaemon, ['--foreground', '--unlock', '--components=secrets'], {
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(keyring);
    keyring.stdin!.end('moor-test-password'); // --unlock reads the login password from stdin
    // Ready when a probe item can be stored.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const probe = spawn(
          'secret-tool',
          ['store', '--label=probe', 'service', 'moor-probe', 'account', 'p'],
          {
            env,
            stdio: ['pipe', 'ignore', 'ignore'],
          },
        );
        probe.stdin.end('x');
        probe.on('exit', (code) => resolve(code === 0));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error('gnome-keyring did not come up on the test session bus');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
