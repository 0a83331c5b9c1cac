/**
 * The prebuilt workflow bundle. Bundling takes seconds, so it is cached under DATA_DIR keyed by
 * a hash of the sandboxed sources; a changed workflow file yields a new bundle.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const ROOT = path.resolve(__dirname, '..');
const SANDBOX_DIRS = ['workflows', 'common'];

function sourceHash(): string {
  const h = crypto.createHash('sha256');
  for (const dir of SANDBOX_DIRS) {
    const files = fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[];
    for (const f of files.filter((f) => f.endsWith('.ts')).sort()) {
      h.update(f);
      h.update(fs.readFileSync(path.join(ROOT, dir, f)));
    }
  }
  return h.digest('hex').slice(0, 16);
}

export async function workflowBundlePath(cacheDir: string): Promise<string> {
  const file = path.join(cacheDir, `workflows-${sourceHash()}.js`);
  if (fs.existsSync(file)) return file;
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silentLogger });
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file);
  return file;
}

const noop = () => undefined;
const silentLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
