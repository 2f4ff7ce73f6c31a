/** Free loopback ports for the cluster's listeners, chosen at `up`. */
import { createServer } from 'node:net';
import { freePort } from '../../src/toolchain/dev-server';

export { freePort };

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below 32768: Temporal keeps membership ports in a `smallint` column of its SQL schema, and
 * the ports the system hands out (`freePort`) are above that on Linux. Random tries, not a scan, so two
 * clusters starting at once are unlikely to pick the same one.
 */
export async function freeMembershipPort(min = 20_000, max = 32_767): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${min} and ${max} on 127.0.0.1`);
}
