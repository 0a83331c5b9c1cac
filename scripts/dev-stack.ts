/**
 * `npm start`: the whole stack on one machine with embedded defaults. Starts (or connects to)
 * Temporal and PostgreSQL, applies migrations, starts the partner sandbox, a worker and the API
 * with the web page, prints where to open it, and on Ctrl-C stops everything in reverse order.
 * All data stays under DATA_DIR, so running it again keeps every batch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { dataDir, env, temporalWebUrl } from '../lib/env';
import { logger } from '../lib/logger';
import { migrate } from '../lib/migrate';
import { createDb } from '../lib/db';
import { ensureLocalAdmin } from '../lib/auth/local-admin';
import { ensureSecretsKeyFile } from '../lib/secret-box';
import { localApiUrls } from '../lib/auth/saved-token';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../lib/postgres';
import {
  ensureSearchAttributes,
  findTemporalBinary,
  PROJECT_ROOT,
  startDevServer,
  waitForTemporal,
} from '../lib/temporal';
import { defaultClusterPorts, startTemporalCluster } from '../lib/temporal-cluster';
import { startCompanySites } from '../sandbox/company-sites/server';
import { startMailbox } from '../sandbox/mailbox/server';
import { startOpenAiStandIn } from '../sandbox/openai/server';
import { startPartnerSandbox } from '../sandbox/partner-platform/server';

/** The key the OpenAI stand-in of `npm start` expects (it is no secret: loopback only). */
const STAND_IN_AI_KEY = 'stand-in-key';

const log = logger.child({ service: 'stack' });
const children: Array<{ name: string; proc: ChildProcess }> = [];
const stoppers: Array<{ name: string; stop: () => Promise<void> }> = [];
let stopping = false;

function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function run(name: string, script: string, extraEnv: Record<string, string>): ChildProcess {
  // `node --import tsx` (not the tsx wrapper) so our signals reach the process itself.
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, script)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
    // Own process group: Ctrl-C reaches us once and we stop children in order.
    detached: true,
  });
  proc.on('exit', (code, signal) => {
    if (!stopping) {
      log.error({ child: name, code, signal }, `${name} exited; stopping the stack`);
      void shutdown(1);
    }
  });
  children.push({ name, proc });
  return proc;
}

async function shutdown(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping the stack');
  for (const { name, proc } of [...children].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    log.info({ child: name }, 'stopped');
  }
  for (const { name, stop } of [...stoppers].reverse()) {
    await stop().catch((err) => log.warn({ err, name }, 'stop failed'));
    log.info({ component: name }, 'stopped');
  }
  process.exit(code);
}

/** Embedded PostgreSQL under DATA_DIR, unless DATABASE_URL points at one: its app and admin URLs. */
async function startPostgres(): Promise<{ databaseUrl: string; postgresAdminUrl: string }> {
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL, postgresAdminUrl: env.DATABASE_URL };
  if (await portInUse(env.EMBEDDED_PG_PORT))
    throw new Error(`port ${env.EMBEDDED_PG_PORT} is taken: set EMBEDDED_PG_PORT or DATABASE_URL`);
  const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({
    dir: path.join(dataDir, 'postgres'),
    port: env.EMBEDDED_PG_PORT,
    log,
  });
  stoppers.push({ name: 'postgres', stop: () => pg.stop() });
  return { databaseUrl: pg.url, postgresAdminUrl: pg.adminUrl };
}

/** A Temporal process that ends while the stack runs stops the stack. */
function stopStackOnExit(proc: ChildProcess, message: string, details: Record<string, unknown> = {}): void {
  proc.on('exit', (code) => {
    if (!stopping) {
      log.error({ code, ...details }, message);
      void shutdown(1);
    }
  });
}

const TEMPORAL_PORT_TAKEN = () =>
  `port ${env.TEMPORAL_DEV_PORT} is taken: another Temporal (or Flotilla) is running; stop it or set TEMPORAL_ADDRESS / TEMPORAL_DEV_PORT`;

/** The production topology: temporal-server's four services on our PostgreSQL. */
async function startCluster(postgresAdminUrl: string): Promise<string> {
  if (await portInUse(env.TEMPORAL_DEV_PORT)) throw new Error(TEMPORAL_PORT_TAKEN());
  const dir = path.join(dataDir, 'temporal-cluster');
  log.info(
    { frontend: env.TEMPORAL_DEV_PORT, logs: dir },
    'temporal cluster starting (frontend, history, matching and worker services on PostgreSQL)',
  );
  const cluster = await startTemporalCluster({
    dir,
    postgresUrl: postgresAdminUrl,
    namespace: env.TEMPORAL_NAMESPACE,
    ports: defaultClusterPorts(env.TEMPORAL_DEV_PORT),
    uiPort: env.TEMPORAL_UI_PORT,
  });
  for (const [name, proc] of Object.entries(cluster.processes))
    stopStackOnExit(proc, 'a temporal cluster service exited; stopping the stack', { service: name });
  stoppers.push({ name: 'temporal', stop: cluster.stop });
  return cluster.address;
}

/** The Temporal CLI's dev server on SQLite under DATA_DIR. */
async function startDev(): Promise<string> {
  if (await portInUse(env.TEMPORAL_DEV_PORT)) throw new Error(TEMPORAL_PORT_TAKEN());
  const bin = findTemporalBinary(env.TEMPORAL_BIN);
  if (!bin) throw new Error('no temporal CLI found: run `bash scripts/ensure-temporal.sh` or set TEMPORAL_BIN');
  const logFile = path.join(dataDir, 'temporal.log');
  log.info({ port: env.TEMPORAL_DEV_PORT, log: logFile }, 'temporal dev server starting');
  const server = await startDevServer({
    bin,
    dbFile: path.join(dataDir, 'temporal.db'),
    port: env.TEMPORAL_DEV_PORT,
    uiPort: env.TEMPORAL_UI_PORT,
    namespace: env.TEMPORAL_NAMESPACE,
    logFile,
    sqliteSync: env.TEMPORAL_SQLITE_SYNC,
  });
  stopStackOnExit(server.process, 'temporal dev server exited; stopping the stack');
  stoppers.push({ name: 'temporal', stop: server.stop });
  return server.address;
}

/** Temporal: the cluster or the dev server we start, or the one TEMPORAL_ADDRESS names (search attributes ensured). */
async function startTemporal(postgresAdminUrl: string): Promise<{ temporalAddress: string; webUrl: string }> {
  if (!env.TEMPORAL_ADDRESS && env.TEMPORAL_TOPOLOGY === 'cluster')
    return { temporalAddress: await startCluster(postgresAdminUrl), webUrl: temporalWebUrl };
  if (!env.TEMPORAL_ADDRESS) return { temporalAddress: await startDev(), webUrl: temporalWebUrl };
  const connection = await waitForTemporal(env.TEMPORAL_ADDRESS, 60_000);
  await ensureSearchAttributes(connection, env.TEMPORAL_NAMESPACE);
  await connection.close();
  return { temporalAddress: env.TEMPORAL_ADDRESS, webUrl: env.TEMPORAL_WEB_URL ?? temporalWebUrl };
}

/**
 * The stand-ins of what is not configured: the partner platform, an OpenAI-compatible API, the
 * demo companies' websites and a mailbox. Sets in `childEnv` where the worker and API find them;
 * returns a line per stand-in for the banner.
 */
async function startStandIns(childEnv: Record<string, string>): Promise<string[]> {
  // The partner platform stand-in, unless a real one is configured.
  if (!env.PARTNER_API_URL) {
    const sandbox = await startPartnerSandbox({ port: env.PARTNER_SANDBOX_PORT, apiKey: env.PARTNER_API_KEY });
    stoppers.push({ name: 'partner-sandbox', stop: () => sandbox.close() });
    childEnv.PARTNER_API_URL = sandbox.url;
  }

  // The OpenAI-compatible stand-in, unless a real AI provider is configured.
  const standIns: string[] = [];
  if (!env.OPENAI_BASE_URL) {
    const ai = await startOpenAiStandIn({ port: env.OPENAI_STANDIN_PORT, apiKey: STAND_IN_AI_KEY });
    stoppers.push({ name: 'openai-stand-in', stop: () => ai.close() });
    childEnv.OPENAI_BASE_URL = ai.url;
    childEnv.OPENAI_API_KEY = STAND_IN_AI_KEY;
    standIns.push(`  OpenAI stand-in:      ${ai.url} (set OPENAI_BASE_URL + OPENAI_API_KEY for a real provider)`);
  }
  // The demo companies' websites (the real web is out of reach here).
  const sites = await startCompanySites({ port: env.SITES_STANDIN_PORT });
  stoppers.push({ name: 'company-sites-stand-in', stop: () => sites.close() });
  standIns.push(`  Company sites:        ${sites.url}/ (stand-in websites of the demo companies)`);
  // The stand-in is on loopback, which the egress guard refuses: allow exactly its host:port.
  const sitesUrl = new URL(sites.url);
  childEnv.EGRESS_ALLOW = [...env.EGRESS_ALLOW, `${sitesUrl.hostname}:${sitesUrl.port || 80}`].join(',');
  // A loopback mailbox for completion e-mails, unless an SMTP server is configured.
  if (!env.SMTP_HOST) standIns.push(await startMailboxStandIn(childEnv));
  return standIns;
}

/** The mailbox stand-in: every e-mail saved as DATA_DIR/mailbox/<time>-<seq>.eml. */
async function startMailboxStandIn(childEnv: Record<string, string>): Promise<string> {
  const mailDir = path.join(dataDir, 'mailbox');
  fs.mkdirSync(mailDir, { recursive: true });
  const mailbox = await startMailbox({
    port: env.MAILBOX_STANDIN_PORT,
    onMessage: (m) => {
      const file = path.join(mailDir, `${m.receivedAt.replace(/[:.]/g, '-')}-${m.seq}.eml`);
      fs.writeFileSync(file, m.raw);
      log.info({ to: m.to, subject: m.subject, file }, 'mailbox stand-in received an e-mail');
    },
  });
  stoppers.push({ name: 'mailbox-stand-in', stop: () => mailbox.close() });
  childEnv.SMTP_HOST = mailbox.host;
  childEnv.SMTP_PORT = String(mailbox.port);
  return `  Mailbox stand-in:     smtp://${mailbox.host}:${mailbox.port} (e-mails saved in ${mailDir})`;
}

/** Where to open what, once the API answers. */
function printBanner(
  admin: Awaited<ReturnType<typeof ensureLocalAdmin>>,
  temporalAddress: string,
  webUrl: string,
  standIns: string[],
): void {
  const appUrl = `http://${env.HOST === '0.0.0.0' ? 'localhost' : env.HOST}:${env.PORT}`;
  process.stdout.write(
    [
      '',
      'Flotilla is running.',
      `  App (web page + API): ${appUrl}`,
      admin.password
        ? `  Sign in:              ${admin.email} / ${admin.password} (saved in ${admin.credentialsFile})`
        : `  Sign in:              ${admin.email} (the super admin you bootstrapped; npm run bootstrap resets a password)`,
      `  CLI:                  npm run cli -- list (uses the API token saved in ${path.join(dataDir, 'cli-token')})`,
      `  API health:           ${appUrl}/api/health`,
      ...(env.API_METRICS_PORT
        ? [
            `  API metrics:          http://127.0.0.1:${env.API_METRICS_PORT}/metrics (and /health with details; loopback only)`,
          ]
        : []),
      ...(env.WORKER_METRICS_PORT
        ? [`  Worker metrics:       http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`]
        : []),
      `  Temporal Web:         ${webUrl}`,
      `  Temporal frontend:    ${temporalAddress}${env.TEMPORAL_ADDRESS ? '' : env.TEMPORAL_TOPOLOGY === 'cluster' ? ` (temporal-server: frontend, history, matching, worker on PostgreSQL; logs in ${path.join(dataDir, 'temporal-cluster')})` : ' (dev server)'}`,
      ...standIns,
      `  Data:                 ${dataDir}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755);

  // PostgreSQL first: the cluster topology keeps Temporal's databases on it too.
  const { databaseUrl, postgresAdminUrl } = await startPostgres();
  const { temporalAddress, webUrl } = await startTemporal(postgresAdminUrl);

  const applied = await migrate(databaseUrl);
  log.info({ applied }, 'database migrated');
  const adminDb = createDb(databaseUrl, { poolSize: 1 });
  const admin = await ensureLocalAdmin(adminDb, dataDir, localApiUrls(env.HOST, env.PORT)).finally(() =>
    adminDb.$disconnect(),
  );

  const childEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_WEB_URL: webUrl,
  };
  const standIns = await startStandIns(childEnv);
  // Webhook secrets are stored encrypted: without a key of the user's, one saved under DATA_DIR.
  if (!env.SECRETS_KEY && !env.SECRETS_KEY_FILE) childEnv.SECRETS_KEY_FILE = ensureSecretsKeyFile(dataDir);

  run('worker', 'workers/main.ts', childEnv);
  run('api', 'api/server.ts', childEnv);
  await waitForHttp(`http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}/api/health`, 60_000);
  printBanner(admin, temporalAddress, webUrl, standIns);
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((err) => {
  log.fatal({ err: { message: (err as Error).message } }, 'stack failed to start');
  void shutdown(1);
});
