/**
 * The engine's TLS configuration delivered with a VM's first boot (a cloud-init boothook), for
 * drivers whose engine address is known before the VM boots (qemu: a loopback forward). The
 * boothook runs in cloud-init.service, which is ordered `Before=sysinit.target`: before every
 * normal service, docker.service and containerd.service included. So dockerd's FIRST start is
 * already the TLS engine, and provisioning only verifies (see configureEngine in index.ts) instead
 * of uploading certificates and restarting the engine (~100 s under TCG).
 *
 * The drop-in depends on the image's docker.service (dockerd path, socket activation, vendor
 * arguments), which is only known inside the guest: the boothook reads the vendor unit and fills
 * in two drop-ins that renderDropIn rendered here (socket-activated or not) with placeholders, so
 * the file is byte for byte what provisioning would write. A unit it cannot read safely (quotes,
 * no dockerd) gets no drop-in: provisioning then configures the engine the usual way.
 *
 * Once per instance (a marker per cloud-init instance id): a later boot must not put the seed's
 * certificates back over those of a `regenerate-certs`.
 */
import {
  DROP_IN_DIR,
  DROP_IN_PATH,
  type EngineSettings,
  REMOTE_CA,
  REMOTE_SERVER_CERT,
  REMOTE_SERVER_KEY,
  renderDropIn,
} from './engine-config.js';

export const PROGRAM_PLACEHOLDER = '@@MOOR_DOCKERD@@';
export const VENDOR_PLACEHOLDER = '@@MOOR_VENDOR_ARGS@@';

export interface EngineSeedFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
}

/** The two drop-in templates (socket-activated, not), as renderDropIn writes them. */
export function dropInTemplates(settings: EngineSettings): { socket: string; plain: string } {
  const render = (socketActivated: boolean) =>
    renderDropIn(settings, { program: '', args: [VENDOR_PLACEHOLDER], socketActivated }, PROGRAM_PLACEHOLDER);
  return { socket: render(true), plain: render(false) };
}

/** A here-document whose delimiter does not occur in the text. */
function hereDoc(text: string): { open: string; body: string } {
  let delimiter = 'MOOR_EOF';
  while (text.split('\n').includes(delimiter)) delimiter += '_';
  const body = text.endsWith('\n') ? text : `${text}\n`;
  return { open: `<<'${delimiter}'`, body: `${body}${delimiter}` };
}

/**
 * `moor_drop_in`: prints the drop-in for the guest's docker.service, or fails (no output) when
 * the vendor unit is missing or has words this parser does not handle (quotes, `%`, `$` in the
 * program). Mirrors parseDockerUnit + keptVendorArgs + the dockerd path rule of configureEngine.
 */
export function dropInFunction(settings: EngineSettings): string {
  const t = dropInTemplates(settings);
  const socket = hereDoc(t.socket);
  const plain = hereDoc(t.plain);
  return `moor_drop_in() {
  moor_unit=$(systemctl cat docker.service 2>/dev/null) || return 1
  moor_exec=$(printf '%s\\n' "$moor_unit" | awk -v ours=${JSON.stringify(DROP_IN_PATH)} '
    /^#[ \\t]+\\/[^ \\t]*[ \\t]*$/ { skip = ($2 == ours); svc = 0; next }
    { line = pending $0; pending = "" }
    /\\\\$/ && !/^#/ { pending = substr(line, 1, length(line) - 1) " "; next }
    { sub(/^[ \\t]+/, "", line); sub(/[ \\t]+$/, "", line) }
    line ~ /^\\[/ { svc = (line == "[Service]"); next }
    skip || !svc { next }
    line ~ /^ExecStart[ \\t]*=/ { v = line; sub(/^ExecStart[ \\t]*=[ \\t]*/, "", v); if (v == "") last = ""; else last = v }
    END { print last }')
  [ -n "$moor_exec" ] || return 1
  case $moor_exec in *\\"*|*\\'*|*\\\\*) return 1 ;; esac
  moor_exec=$(printf '%s' "$moor_exec" | sed 's/^[-@+!:]*//')
  set -f
  # shellcheck disable=SC2086
  set -- $moor_exec
  set +f
  moor_program=$1
  shift
  moor_fd=no
  moor_vendor=
  while [ $# -gt 0 ]; do
    case $1 in
    -H | --host) [ "\${2:-}" = fd:// ] && moor_fd=yes; [ $# -gt 1 ] && shift ;;
    -H=* | --host=*) [ "\${1#*=}" = fd:// ] && moor_fd=yes ;;
    '$DOCKER_OPTS' | '\${DOCKER_OPTS}') ;;
    *) moor_vendor="\${moor_vendor:+$moor_vendor }$1" ;;
    esac
    shift
  done
  case $moor_program in *dockerd) ;; *) moor_program=$(command -v dockerd) || return 1 ;; esac
  case $moor_program in '' | *%* | *'$'*) return 1 ;; esac
  if [ "$moor_fd" = yes ] && systemctl cat docker.socket >/dev/null 2>&1; then
    moor_template=$(cat ${socket.open}
${socket.body}
)
  else
    moor_template=$(cat ${plain.open}
${plain.body}
)
  fi
  printf '%s\\n' "$moor_template" | awk -v prog="$moor_program" -v vendor="$moor_vendor" '
    function swap(s, from, to,   i) {
      i = index(s, from)
      return i ? substr(s, 1, i - 1) to substr(s, i + length(from)) : s
    }
    {
      line = swap($0, ${JSON.stringify(PROGRAM_PLACEHOLDER)}, prog)
      line = vendor == "" ? swap(line, " " ${JSON.stringify(VENDOR_PLACEHOLDER)}, "") : swap(line, ${JSON.stringify(VENDOR_PLACEHOLDER)}, vendor)
      print line
    }'
}`;
}

/**
 * The boothook (a `#cloud-boothook` user-data part): certificates into /etc/docker (the key 0600),
 * the drop-in, `systemctl daemon-reload` (docker.service is loaded already, not started).
 */
export function engineBoothook(settings: EngineSettings, files: EngineSeedFiles): string {
  const write = (target: string, mode: string, text: string) => {
    const doc = hereDoc(text);
    return `(umask 077 && cat >${JSON.stringify(`${target}.moor-tmp`)} ${doc.open}
${doc.body}
) && chmod ${mode} ${JSON.stringify(`${target}.moor-tmp`)} && mv -f ${JSON.stringify(`${target}.moor-tmp`)} ${JSON.stringify(target)}`;
  };
  return `#cloud-boothook
#!/bin/sh
# Written by Moor: the Docker engine's TLS configuration, before docker.service first starts.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
marker=/var/lib/cloud/moor-engine-seeded.\${INSTANCE_ID:-unknown}
[ -e "$marker" ] && exit 0
${dropInFunction(settings)}
mkdir -p /etc/docker ${DROP_IN_DIR} || exit 1
${write(REMOTE_CA, '0644', files.ca)} || exit 1
${write(REMOTE_SERVER_CERT, '0644', files.serverCert)} || exit 1
${write(REMOTE_SERVER_KEY, '0600', files.serverKey)} || exit 1
if moor_dropin=$(moor_drop_in); then
  printf '%s\\n' "$moor_dropin" >${JSON.stringify(`${DROP_IN_PATH}.moor-tmp`)} && mv -f ${JSON.stringify(`${DROP_IN_PATH}.moor-tmp`)} ${JSON.stringify(DROP_IN_PATH)}
  systemctl daemon-reload
else
  echo "moor: docker.service not found or not understood: the engine is configured by provisioning" >&2
fi
mkdir -p /var/lib/cloud && : >"$marker"
exit 0
`;
}
