import net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Free gRPC and membership ports for each service of a local Temporal cluster (lib/temporal-cluster.ts).
 * All below 32768: the SQL persistence stores a service's membership (ringpop) port as a smallint
 * (`cluster_membership.rpc_port`), and the kernel's own free ports come from above it; the gRPC
 * ports could be anywhere, but one range is simpler.
 */
export async function freeClusterPorts(): Promise<import('../../lib/temporal-cluster').ClusterPorts> {
  const taken = new Set<number>();
  const port = async () => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const candidate = 20_000 + Math.floor(Math.random() * 12_000);
      if (taken.has(candidate) || !(await canListen(candidate))) continue;
      taken.add(candidate);
      return candidate;
    }
    throw new Error('no free port between 20000 and 32000');
  };
  const service = async () => ({ grpc: await port(), membership: await port() });
  return {
    frontend: await service(),
    history: await service(),
    matching: await service(),
    worker: await service(),
    frontendHttp: await port(),
  };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
