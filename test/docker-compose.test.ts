/**
 * Validates docker-compose.temporal.yml (the Temporal + PostgreSQL deployment
 * for Docker users) without a Docker engine: `docker-compose config` parses,
 * interpolates and schema-checks the file. Nothing is started.
 *
 * Needs the docker-compose binary (Debian: `apt-get install -y docker-compose`,
 * v1.29). If it is missing, the test fails. It does not skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLUSTER_DATABASES, CLUSTER_HISTORY_SHARDS, CLUSTER_SERVICES } from '../lib/temporal-cluster';

const REPO_ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = 'docker-compose.temporal.yml';
const INSTALL_HINT =
  'docker-compose was not found on PATH. It is needed to validate ' +
  `${COMPOSE_FILE}. Install it (as root) with: apt-get install -y docker-compose`;

interface ComposeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCompose(args: string[]): ComposeResult {
  const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(INSTALL_HINT);
    throw new Error(`docker-compose could not be run: ${result.error.message}`);
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function describeFailure(r: ComposeResult): string {
  return `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/**
 * A small reader for the normalized YAML that `docker-compose config` prints.
 * It returns each top-level service's lines, which is all the test needs.
 * It is not a general YAML parser.
 */
function serviceBlocks(yamlText: string): Map<string, string[]> {
  const lines = yamlText.split(/\r?\n/);
  const blocks = new Map<string, string[]>();
  const start = lines.findIndex((l) => /^services:\s*$/.test(l));
  if (start < 0) return blocks;
  let current: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break; // the next top-level key (networks:, volumes:, ...)
    const svc = /^ {2}([A-Za-z0-9._-]+):\s*$/.exec(line);
    if (svc) {
      current = [];
      blocks.set(svc[1], current);
    } else if (current) {
      current.push(line);
    }
  }
  return blocks;
}

/**
 * `docker-compose config` re-emits long commands as wrapped double-quoted
 * scalars: a line ends with `\`, the next line starts with indentation, and a
 * wrapped space is written as `\ `. This undoes the wrapping so that plain
 * substring checks work on the script text.
 */
function unwrapQuoted(text: string): string {
  return text
    .replace(/\\\r?\n[ \t]*/g, '')
    .replace(/\\ /g, ' ')
    .replace(/\\"/g, '"');
}

interface PortMapping {
  published: string;
  target: string;
}

/**
 * Reads a service's published ports in both forms: the short one that
 * docker-compose v1 prints ("- 127.0.0.1:7233:7233/tcp") and the long one that
 * Compose v2 prints (target:/published: keys).
 */
function publishedPorts(block: string[]): PortMapping[] {
  const out: PortMapping[] = [];
  const idx = block.findIndex((l) => /^ {4}ports:\s*$/.test(l));
  if (idx < 0) return out;
  let long: Partial<PortMapping> | undefined;
  const flushLong = () => {
    if (long?.published && long.target) out.push({ published: long.published, target: long.target });
    long = undefined;
  };
  for (const line of block.slice(idx + 1)) {
    if (/^ {0,4}[^\s-]/.test(line)) break; // the service's next key (list items may sit at 4 too)
    const item = /^ {4,6}- (.*)$/.exec(line);
    const rest = item ? item[1].trim() : line.trim();
    if (item) flushLong();
    const short = /^["']?(?:[\d.]+:|\[[^\]]*\]:)?(\d+):(\d+)(?:\/\w+)?["']?$/.exec(rest);
    if (item && short) {
      out.push({ published: short[1], target: short[2] });
      continue;
    }
    const kv = /^(published|target):\s*["']?(\d+)["']?$/.exec(rest);
    if (kv) {
      long ??= {};
      long[kv[1] as keyof PortMapping] = kv[2];
    } else if (item) {
      long ??= {};
    }
  }
  flushLong();
  return out;
}

describe(COMPOSE_FILE, () => {
  it('exists at the repository root', () => {
    expect(existsSync(path.join(REPO_ROOT, COMPOSE_FILE))).toBe(true);
  });

  it('passes `docker-compose config -q`', () => {
    const r = runCompose(['config', '-q']);
    if (r.status !== 0) throw new Error(`docker-compose config -q failed: ${describeFailure(r)}`);
    expect(r.status).toBe(0);
  });

  describe('resolved configuration', () => {
    let config = '';
    let services = new Map<string, string[]>();

    beforeAll(() => {
      const r = runCompose(['config']);
      if (r.status !== 0) throw new Error(`docker-compose config failed: ${describeFailure(r)}`);
      config = r.stdout;
      services = serviceBlocks(config);
    });

    it('defines postgresql, temporal, temporal-ui and admin-tools', () => {
      const names = [...services.keys()];
      expect(names).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'admin-tools']));
    });

    it('uses PostgreSQL 16 as the store and the Temporal 1.29 images', () => {
      expect(services.get('postgresql')?.join('\n')).toMatch(/image: postgres:16\b/);
      const temporal = services.get('temporal')?.join('\n') ?? '';
      expect(temporal).toMatch(/image: temporalio\/(server|auto-setup):1\.29\./);
      expect(temporal).toMatch(/DB: postgres12/);
      expect(temporal).toMatch(/POSTGRES_SEEDS: postgresql/);
      expect(services.get('temporal-ui')?.join('\n')).toMatch(/image: temporalio\/ui:/);
      expect(services.get('admin-tools')?.join('\n')).toMatch(/image: temporalio\/admin-tools:1\.29\./);
    });

    it('publishes Temporal gRPC on 7233', () => {
      const ports = publishedPorts(services.get('temporal') ?? []);
      expect(ports).toContainEqual({ published: '7233', target: '7233' });
    });

    it('publishes Temporal Web on host port 8233 (container port 8080)', () => {
      const ports = publishedPorts(services.get('temporal-ui') ?? []);
      expect(ports).toContainEqual({ published: '8233', target: '8080' });
    });

    it('health-checks the database and the server', () => {
      expect(services.get('postgresql')?.join('\n')).toMatch(/healthcheck:/);
      expect(services.get('temporal')?.join('\n')).toMatch(/healthcheck:/);
    });

    it('keeps PostgreSQL data in a named volume', () => {
      expect(services.get('postgresql')?.join('\n')).toMatch(/- temporal-postgresql-data:\/var\/lib\/postgresql\/data/);
      expect(config).toMatch(/^volumes:\s*\n\s+temporal-postgresql-data:/m);
    });

    it('registers the Flotilla search attributes once the server is healthy', () => {
      const entry = [...services.entries()].find(([, block]) =>
        unwrapQuoted(block.join('\n')).includes('search-attribute create'),
      );
      expect(entry).toBeDefined();
      const block = unwrapQuoted(entry![1].join('\n'));
      for (const name of ['FlotillaBatchId', 'FlotillaPipeline', 'FlotillaItemKey']) {
        expect(block).toContain(name);
      }
      expect(block).toMatch(/--type Keyword/);
      expect(block).toMatch(/NAMESPACE: default/);
      expect(block).toMatch(/temporal:\s*\n\s+condition: service_healthy/);
    });

    it('runs what `npm run start:cluster` runs: the four services apart, its versions, shard count and databases', () => {
      const script = readFileSync(path.join(REPO_ROOT, 'scripts/ensure-temporal-cluster.sh'), 'utf8');
      const serverVersion = /^SERVER_VERSION=v(\S+)$/m.exec(script)![1];
      const uiVersion = /^UI_VERSION=v(\S+)$/m.exec(script)![1];
      const servicesOf = new Map(
        [...services.entries()].map(([name, block]) => [name, /SERVICES: (\w+)/.exec(block.join('\n'))?.[1]]),
      );
      expect([...servicesOf.values()].filter(Boolean).sort()).toEqual([...CLUSTER_SERVICES].sort());
      expect(servicesOf.get('temporal')).toBe('frontend');
      for (const [name, service] of servicesOf) {
        if (!service) continue;
        const block = services.get(name)!.join('\n');
        expect(block).toContain(`image: temporalio/server:${serverVersion}`);
        expect(block).toContain(`NUM_HISTORY_SHARDS: '${CLUSTER_HISTORY_SHARDS}'`);
        expect(block).toContain(`DBNAME: ${CLUSTER_DATABASES.persistence}`);
        expect(block).toContain(`VISIBILITY_DBNAME: ${CLUSTER_DATABASES.visibility}`);
      }
      expect(services.get('temporal-ui')?.join('\n')).toContain(`image: temporalio/ui:${uiVersion}`);
    });

    it('mounts a dynamic config file that exists in the repository', () => {
      const temporal = services.get('temporal')?.join('\n') ?? '';
      const file = /DYNAMIC_CONFIG_FILE_PATH: (\S+)/.exec(temporal)?.[1];
      if (!file) return; // no dynamic config referenced
      const fileName = path.basename(file);
      expect(existsSync(path.join(REPO_ROOT, 'docker/temporal/dynamicconfig', fileName))).toBe(true);
    });
  });
});
