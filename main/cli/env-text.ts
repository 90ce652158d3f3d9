/**
 * The text `env` prints, as a pure function: byte-compatible with docker-machine 0.16.2
 * (commands/env.go + libmachine/shell) except that the usage hint names this program.
 */
interface ShellForm {
  prefix: string;
  delimiter: string;
  suffix: string;
}

const SET_FORMS: Record<string, ShellForm> = {
  fish: { prefix: 'set -gx ', delimiter: ' "', suffix: '";\n' },
  powershell: { prefix: '$Env:', delimiter: ' = "', suffix: '"\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  tcsh: { prefix: 'setenv ', delimiter: ' "', suffix: '";\n' },
  emacs: { prefix: '(setenv "', delimiter: '" "', suffix: '")\n' },
  bash: { prefix: 'export ', delimiter: '="', suffix: '"\n' },
};

const UNSET_FORMS: Record<string, ShellForm> = {
  fish: { prefix: 'set -e ', delimiter: '', suffix: ';\n' },
  powershell: { prefix: 'Remove-Item Env:\\\\', delimiter: '', suffix: '\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  emacs: { prefix: '(setenv "', delimiter: '" nil', suffix: ')\n' },
  tcsh: { prefix: 'unsetenv ', delimiter: '', suffix: ';\n' },
  bash: { prefix: 'unset ', delimiter: '', suffix: '\n' },
};

/** The machine-specific values of `env` (absent with --unset). */
export interface EnvValues {
  dockerHost: string;
  certPath: string;
  machineName: string;
}

export interface EnvTextInput {
  /** Shell name as given by --shell or detected; anything unknown gets the bash/sh form. */
  shell: string;
  /** null for --unset. */
  values: EnvValues | null;
  /** With --no-proxy: the variable (NO_PROXY or no_proxy) and its new value. */
  noProxy?: { name: string; value: string };
  /** COMPOSE_CONVERT_WINDOWS_PATHS=true, which docker-machine adds on Windows. */
  composeWindowsPaths?: boolean;
  /** The command line for the hint: program name and its arguments, as typed. */
  commandLine: readonly string[];
}

export function envText(input: EnvTextInput): string {
  const forms = input.values ? SET_FORMS : UNSET_FORMS;
  const form = forms[input.shell] ?? forms.bash!;
  const line = (name: string, value: string) =>
    // With --unset only the name is printed (docker-machine appended the old NO_PROXY value: a bug).
    `${form.prefix}${name}${form.delimiter}${input.values ? value : ''}${form.suffix}`;
  let text = '';
  const v = input.values;
  text += line('DOCKER_TLS_VERIFY', v ? '1' : '');
  text += line('DOCKER_HOST', v?.dockerHost ?? '');
  text += line('DOCKER_CERT_PATH', v?.certPath ?? '');
  text += line('DOCKER_MACHINE_NAME', v?.machineName ?? '');
  if (input.composeWindowsPaths) text += line('COMPOSE_CONVERT_WINDOWS_PATHS', 'true');
  if (input.noProxy) text += line(input.noProxy.name, input.noProxy.value);
  return text + usageHint(input.shell, input.commandLine);
}

/** The two comment lines telling how to eval the output (EnvUsageHintGenerator). */
export function usageHint(shell: string, commandLine: readonly string[]): string {
  const args = [...commandLine];
  const program = args[0] ?? '';
  if (program.includes(' ') || program.includes('\\')) args[0] = `"${program}"`;
  const command = args.join(' ');
  let comment = '#';
  let cmd: string;
  switch (shell) {
    case 'fish':
      cmd = `eval (${command})`;
      break;
    case 'powershell':
      cmd = `& ${command} | Invoke-Expression`;
      break;
    case 'cmd':
      cmd = `\t@FOR /f "tokens=*" %i IN ('${command}') DO @%i`;
      comment = 'REM';
      break;
    case 'emacs':
      cmd = `(with-temp-buffer (shell-command "${command}" (current-buffer)) (eval-buffer))`;
      comment = ';;';
      break;
    case 'tcsh':
      cmd = `eval \`${command}\``;
      comment = ':';
      break;
    default:
      cmd = `eval $(${command})`;
  }
  return `${comment} Run this command to configure your shell: \n${comment} ${cmd}\n`;
}

/**
 * NO_PROXY handling of `env --no-proxy`: the lowercase variable wins when set; the machine's IP
 * is appended unless already contained.
 */
export function noProxyFor(env: NodeJS.ProcessEnv, ip: string | null): { name: string; value: string } {
  let name = 'no_proxy';
  let value = env.no_proxy ?? '';
  if (!value) {
    name = 'NO_PROXY';
    value = env.NO_PROXY ?? '';
  }
  if (ip === null) return { name, value };
  if (!value) value = ip;
  else if (!value.includes(ip)) value = `${value},${ip}`;
  return { name, value };
}

/**
 * Printed to stderr when $SHELL is unset. docker-machine printed this preface on stdout and then
 * failed with "Error: Unknown shell", which broke `eval $(docker-machine env NAME)` wherever
 * $SHELL is not set (containers, CI runners, systemd units); Moor prints the sh/bash lines the
 * preface promises instead.
 */
export const NO_SHELL_NOTE =
  "$SHELL is not set: the lines below are for a sh/bash shell, you can specify the shell you're using, with the --shell flag.";

/** The shell from --shell or the basename of $SHELL (unix rule); null when neither says. */
export function detectShell(requested: string | undefined, env: NodeJS.ProcessEnv): string | null {
  if (requested) return requested;
  const shell = env.SHELL ?? '';
  if (!shell) return null;
  return shell.slice(shell.lastIndexOf('/') + 1);
}
