/** Free TCP ports on 127.0.0.1 for the servers and daemons tests start (Knock, Janus, coturn). */
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/**
 * A port nothing listens on right now, which the caller keeps for every restart. It is taken from below the
 * kernel's ephemeral range where there is one, so that while Knock is down no other process's `listen(0)` or
 * outgoing connection can be handed the same port.
 */
export async function freePort(): Promise<number> {
  const ephemeralStart = await readEphemeralStart();
  if (ephemeralStart !== null && ephemeralStart > 20_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = 15_000 + Math.floor(Math.random() * (ephemeralStart - 15_000));
      if (await canListen(port)) return port;
    }
  }
  return listenOnce(0);
}

async function readEphemeralStart(): Promise<number | null> {
  try {
    const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const low = Number(text.trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : null;
  } catch {
    return null; // not Linux: let the OS pick
  }
}

async function canListen(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

/** Listens on 127.0.0.1:`port` (0: any), closes again, and resolves with the port that was bound. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (bound > 0 ? resolve(bound) : reject(new Error('No free port.'))));
    });
  });
}

