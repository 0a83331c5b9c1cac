// Generates the Prisma client (prisma/generated). The CLI needs DATABASE_URL to be set even for
// `generate`, or it tries to download a query engine; the value is not used to connect.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('prisma/schema.prisma')) process.exit(0);
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || 'postgresql://flotilla@127.0.0.1:5432/flotilla',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env,
});
process.exit(r.status ?? 1);
