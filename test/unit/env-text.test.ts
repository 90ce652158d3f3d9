import { describe, expect, it } from 'vitest';
import { detectShell, envText, noProxyFor, usageHint } from '../../main/cli/env-text.js';

const values = {
  dockerHost: 'tcp://127.0.0.1:2376',
  certPath: '/home/user/.docker/machine/machines/foo',
  machineName: 'foo',
};

// Golden outputs: docker-machine 0.16.2's, with "docker-machine" replaced by "moor" in the hint.
describe('env text', () => {
  it('bash (observed docker-machine output)', () => {
    expect(envText({ shell: 'bash', values, commandLine: ['moor', 'env', 'foo'] })).toBe(
      'export DOCKER_TLS_VERIFY="1"\n' +
        'export DOCKER_HOST="tcp://127.0.0.1:2376"\n' +
        'export DOCKER_CERT_PATH="/home/user/.docker/machine/machines/foo"\n' +
        'export DOCKER_MACHINE_NAME="foo"\n' +
        '# Run this command to configure your shell: \n' +
        '# eval $(moor env foo)\n',
    );
  });

  it('zsh, sh and unknown shells get the bash form', () => {
    const bash = envText({ shell: 'bash', values, commandLine: ['moor', 'env', 'foo'] });
    for (const shell of ['zsh', 'sh', 'ksh']) {
      expect(envText({ shell, values, commandLine: ['moor', 'env', 'foo'] })).toBe(bash);
    }
  });

  it('fish', () => {
    expect(envText({ shell: 'fish', values, commandLine: ['moor', 'env', '--shell', 'fish', 'foo'] })).toBe(
      'set -gx DOCKER_TLS_VERIFY "1";\n' +
        'set -gx DOCKER_HOST "tcp://127.0.0.1:2376";\n' +
        'set -gx DOCKER_CERT_PATH "/home/user/.docker/machine/machines/foo";\n' +
        'set -gx DOCKER_MACHINE_NAME "foo";\n' +
        '# Run this command to configure your shell: \n' +
        '# eval (moor env --shell fish foo)\n',
    );
  });

  it('powershell', () => {
    expect(
      envText({ shell: 'powershell', values, commandLine: ['moor', 'env', '--shell', 'powershell', 'foo'] }),
    ).toBe(
      '$Env:DOCKER_TLS_VERIFY = "1"\n' +
        '$Env:DOCKER_HOST = "tcp://127.0.0.1:2376"\n' +
        '$Env:DOCKER_CERT_PATH = "/home/user/.docker/machine/machines/foo"\n' +
        '$Env:DOCKER_MACHINE_NAME = "foo"\n' +
        '# Run this command to configure your shell: \n' +
        '# & moor env --shell powershell foo | Invoke-Expression\n',
    );
  });

  it('cmd (a TAB after REM)', () => {
    expect(envText({ shell: 'cmd', values, commandLine: ['moor', 'env', '--shell', 'cmd', 'foo'] })).toBe(
      'SET DOCKER_TLS_VERIFY=1\n' +
        'SET DOCKER_HOST=tcp://127.0.0.1:2376\n' +
        'SET DOCKER_CERT_PATH=/home/user/.docker/machine/machines/foo\n' +
        'SET DOCKER_MACHINE_NAME=foo\n' +
        'REM Run this command to configure your shell: \n' +
        'REM \t@FOR /f "tokens=*" %i IN (\'moor env --shell cmd foo\') DO @%i\n',
    );
  });

  it('tcsh', () => {
    expect(envText({ shell: 'tcsh', values, commandLine: ['moor', 'env', '--shell', 'tcsh', 'foo'] })).toBe(
      'setenv DOCKER_TLS_VERIFY "1";\n' +
        'setenv DOCKER_HOST "tcp://127.0.0.1:2376";\n' +
        'setenv DOCKER_CERT_PATH "/home/user/.docker/machine/machines/foo";\n' +
        'setenv DOCKER_MACHINE_NAME "foo";\n' +
        ': Run this command to configure your shell: \n' +
        ': eval `moor env --shell tcsh foo`\n',
    );
  });

  it('emacs', () => {
    expect(envText({ shell: 'emacs', values, commandLine: ['moor', 'env', '--shell', 'emacs', 'foo'] })).toBe(
      '(setenv "DOCKER_TLS_VERIFY" "1")\n' +
        '(setenv "DOCKER_HOST" "tcp://127.0.0.1:2376")\n' +
        '(setenv "DOCKER_CERT_PATH" "/home/user/.docker/machine/machines/foo")\n' +
        '(setenv "DOCKER_MACHINE_NAME" "foo")\n' +
        ';; Run this command to configure your shell: \n' +
        ';; (with-temp-buffer (shell-command "moor env --shell emacs foo" (current-buffer)) (eval-buffer))\n',
    );
  });

  it('--unset for every shell', () => {
    const unset = (shell: string) => envText({ shell, values: null, commandLine: ['moor', 'env', '-u'] });
    expect(unset('bash')).toBe(
      'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n' +
        '# Run this command to configure your shell: \n# eval $(moor env -u)\n',
    );
    expect(unset('fish').split('\n').slice(0, 4)).toEqual([
      'set -e DOCKER_TLS_VERIFY;',
      'set -e DOCKER_HOST;',
      'set -e DOCKER_CERT_PATH;',
      'set -e DOCKER_MACHINE_NAME;',
    ]);
    // Two literal backslashes, as docker-machine's bats test expects.
    expect(unset('powershell').split('\n')[0]).toBe('Remove-Item Env:\\\\DOCKER_TLS_VERIFY');
    expect(unset('cmd').split('\n')[0]).toBe('SET DOCKER_TLS_VERIFY=');
    expect(unset('tcsh').split('\n')[0]).toBe('unsetenv DOCKER_TLS_VERIFY;');
    expect(unset('emacs').split('\n')[0]).toBe('(setenv "DOCKER_TLS_VERIFY" nil)');
  });

  it('--no-proxy adds the machine IP once, to the variable already in use', () => {
    expect(noProxyFor({}, '127.0.0.1:2376')).toEqual({ name: 'NO_PROXY', value: '127.0.0.1:2376' });
    expect(noProxyFor({ no_proxy: '127.0.0.1' }, '127.0.0.1:2376')).toEqual({
      name: 'no_proxy',
      value: '127.0.0.1,127.0.0.1:2376',
    });
    expect(noProxyFor({ NO_PROXY: 'a,10.0.0.5' }, '10.0.0.5')).toEqual({
      name: 'NO_PROXY',
      value: 'a,10.0.0.5',
    });
    const text = envText({
      shell: 'bash',
      values,
      noProxy: noProxyFor({ NO_PROXY: 'example.com' }, '1.2.3.4'),
      commandLine: ['moor', 'env', '--no-proxy', 'foo'],
    });
    expect(text).toContain('export DOCKER_MACHINE_NAME="foo"\nexport NO_PROXY="example.com,1.2.3.4"\n# Run');
  });

  it('--unset --no-proxy prints the variable name only (docker-machine appended the value: a bug)', () => {
    const text = envText({
      shell: 'bash',
      values: null,
      noProxy: noProxyFor({ NO_PROXY: 'example.com' }, null),
      commandLine: ['moor', 'env', '-u', '--no-proxy'],
    });
    expect(text).toContain('unset DOCKER_MACHINE_NAME\nunset NO_PROXY\n');
  });

  it('quotes a program path with a space in the hint', () => {
    expect(usageHint('bash', ['/opt/my apps/moor', 'env', 'x'])).toBe(
      '# Run this command to configure your shell: \n# eval $("/opt/my apps/moor" env x)\n',
    );
  });

  it('detects the shell from $SHELL', () => {
    expect(detectShell(undefined, { SHELL: '/usr/bin/fish' })).toBe('fish');
    expect(detectShell('tcsh', { SHELL: '/bin/bash' })).toBe('tcsh');
    expect(detectShell(undefined, {})).toBeNull();
    expect(detectShell(undefined, { SHELL: '' })).toBeNull();
  });
});
