import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';

/**
 * An SSH server (ssh2's Server, the real protocol) whose SFTP subsystem serves a made-up tree:
 * one directory whose listing can name anything, e.g. `../../x` (a lying server, CVE-2019-6111).
 * Every regular file holds `content`. Accepts any public key.
 */
export interface LyingSftp {
  host: string;
  port: number;
  stop(): Promise<void>;
}

const { STATUS_CODE } = ssh2.utils.sftp;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export async function startLyingSftp(options: {
  host: string;
  /** The directory the client asks for (its name in the listing's parent). */
  dir: string;
  /** The names READDIR returns for `dir`. */
  entries: string[];
  content: string;
}): Promise<LyingSftp> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const attrs = (mode: number, size: number) => ({ mode, uid: 0, gid: 0, size, atime: 0, mtime: 0 });
  const isDir = (p: string) => p.replace(/\/+$/, '') === options.dir;
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) =>
      ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey']),
    );
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('sftp', (acceptSftp) => {
        const sftp = acceptSftp();
        const handles = new Map<string, { path: string; listed: boolean }>();
        let next = 0;
        const open = (p: string) => {
          const handle = Buffer.from(String(next++));
          handles.set(handle.toString(), { path: p, listed: false });
          return handle;
        };
        const stat = (reqid: number, p: string) =>
          sftp.attrs(
            reqid,
            isDir(p) ? attrs(S_IFDIR | 0o755, 0) : attrs(S_IFREG | 0o644, options.content.length),
          );
        sftp.on('STAT', stat);
        sftp.on('LSTAT', stat);
        sftp.on('FSTAT', (reqid, handle) => stat(reqid, handles.get(handle.toString())?.path ?? ''));
        sftp.on('OPENDIR', (reqid, p) => sftp.handle(reqid, open(p)));
        sftp.on('OPEN', (reqid, p) => sftp.handle(reqid, open(p)));
        sftp.on('READDIR', (reqid, handle) => {
          const h = handles.get(handle.toString());
          if (!h || h.listed) return sftp.status(reqid, STATUS_CODE.EOF);
          h.listed = true;
          const names = options.entries.map((filename) => ({
            filename,
            longname: `-rw-r--r-- 1 root root 0 Jan 1 00:00 ${filename}`,
            attrs: attrs(S_IFREG | 0o644, options.content.length),
          }));
          return sftp.name(reqid, names);
        });
        sftp.on('READ', (reqid, _handle, offset, length) => {
          const data = Buffer.from(options.content);
          if (offset >= data.length) return sftp.status(reqid, STATUS_CODE.EOF);
          return sftp.data(reqid, data.subarray(offset, offset + length));
        });
        sftp.on('CLOSE', (reqid, handle) => {
          handles.delete(handle.toString());
          sftp.status(reqid, STATUS_CODE.OK);
        });
        sftp.on('REALPATH', (reqid, p) =>
          sftp.name(reqid, [{ filename: p, longname: p, attrs: attrs(S_IFDIR, 0) }]),
        );
      });
    });
  });
  server.listen(0, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: options.host,
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
