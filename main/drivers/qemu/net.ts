import net from 'node:net';
import tls from 'node:tls';

/** Whether an address is in 127.0.0.0/8 (host forwards are never put anywhere else). */
export function isLoopbackV4(address: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  return !!m && m.slice(1).every((p) => Number(p) <= 255);
}

/**
 * `count` distinct TCP ports that are free on `address` right now: the kernel picks each (listen on
 * port 0), all are held open until every one is chosen so none repeats, then released for QEMU.
 */
export async function freePorts(address: string, count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port: 0, exclusive: true }, () => resolve());
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Whether something listens on address:port (a busy forward makes QEMU exit). */
export function portInUse(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/**
 * One look at an SSH port: resolves with the server's identification line (`SSH-2.0-…`) or
 * undefined when the connection fails, closes, or says nothing within timeoutMs. QEMU's forward
 * accepts TCP long before the guest's sshd listens (then closes at once): only the banner counts.
 */
export function readSshBanner(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = '';
    const done = (banner: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(banner);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split('\n').find((l) => l.startsWith('SSH-'));
      if (line) done(line.trim());
      else if (data.length > 8192) done(undefined);
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

/**
 * Whether a TLS server answers on host:port (dockerd with --tlsverify): a finished handshake, or a TLS
 * alert (the server wants a client certificate), both count; a connection the forward accepts and then
 * closes (nothing listens in the guest yet) does not. No certificate is checked: this only asks "is
 * anyone there", the engine itself is then asked with the machine's certificates.
 */
export function tlsServerAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, servername: undefined });
    const done = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(/alert|ERR_SSL_/i.test(`${err.code ?? ''} ${err.message}`) && err.code !== 'ECONNRESET'),
    );
    socket.once('close', () => done(false));
  });
}
