/** Settings and About: start at login, the create form's driver, notifications; versions and the store. */
import { useEffect, useRef, useState } from 'react';
import type {
  AboutInfo,
  AppSettings,
  DriverInfo,
  NotifyChoice,
  SettingsChange,
} from '../../../main/api/contract.js';
import { attempt } from '../store.js';

const NOTIFY: Array<[NotifyChoice, string]> = [
  ['all', 'Finished and failed operations'],
  ['failures', 'Failures only'],
  ['off', 'None (the window still shows them)'],
];

export function SettingsView() {
  const [settings, setSettings] = useState<AppSettings | null>(null);
  const [about, setAbout] = useState<AboutInfo | null>(null);
  const [drivers, setDrivers] = useState<DriverInfo[]>([]);

  useEffect(() => {
    void attempt(async () => {
      const [s, c] = await Promise.all([window.moor.settings(), window.moor.listDrivers()]);
      setSettings(s.settings);
      setAbout(s.about);
      setDrivers(c.drivers);
    });
  }, []);

  const latest = useRef(0);
  // Shown at once, then what main kept (the old value again if it refused). Only the answer to
  // the latest change is applied: an earlier one would undo a change made since.
  const change = (c: SettingsChange) => {
    const before = settings;
    const request = ++latest.current;
    setSettings((prev) => (prev ? { ...prev, ...c } : prev));
    void attempt(() => window.moor.updateSettings(c)).then((kept) => {
      if (request === latest.current) setSettings(kept ?? before);
    });
  };

  return (
    <div className="view" data-testid="settings">
      <header className="view-header">
        <h1>Settings</h1>
      </header>
      {settings ? (
        <section className="card settings">
          <div className="field">
            <label className="check">
              <input
                type="checkbox"
                checked={settings.openAtLogin === true}
                disabled={settings.openAtLogin === null}
                onChange={(e) => change({ openAtLogin: e.target.checked })}
                data-testid="open-at-login"
              />
              Start Moor when I log in
            </label>
            {settings.openAtLogin === null ? (
              <div className="field-hint">
                Not available in this build (use your desktop's autostart settings).
              </div>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="default-driver">Driver the create form starts with</label>
            <select
              id="default-driver"
              value={settings.defaultDriver}
              onChange={(e) => change({ defaultDriver: e.target.value })}
              data-testid="default-driver"
            >
              {drivers.map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name}
                </option>
              ))}
            </select>
          </div>
          <fieldset className="field radio-group">
            <legend>Desktop notifications</legend>
            {NOTIFY.map(([value, label]) => (
              <label key={value} className="check">
                <input
                  type="radio"
                  name="notifications"
                  value={value}
                  checked={settings.notifications === value}
                  onChange={() => change({ notifications: value })}
                  data-testid={`notify-${value}`}
                />
                {label}
              </label>
            ))}
          </fieldset>
        </section>
      ) : null}
      {about ? (
        <section className="card" data-testid="about">
          <h2>About Moor</h2>
          <dl>
            <div className="kv">
              <dt>Version</dt>
              <dd className="mono">{about.version}</dd>
            </div>
            <div className="kv">
              <dt>Machine store</dt>
              <dd className="mono small" data-testid="store-path">
                {about.storePath}
              </dd>
            </div>
            <div className="kv">
              <dt>Platform</dt>
              <dd className="mono">{about.platform}</dd>
            </div>
            {Object.entries(about.versions).map(([k, v]) => (
              <div className="kv" key={k}>
                <dt>{k}</dt>
                <dd className="mono">{v}</dd>
              </div>
            ))}
          </dl>
        </section>
      ) : null}
    </div>
  );
}
