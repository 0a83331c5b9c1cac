/** Prisma client over the pg driver adapter: no Prisma engine binaries at run time. */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../prisma/generated/client';

export type Db = PrismaClient;
export { Prisma } from '../prisma/generated/client';

export function createDb(databaseUrl: string, opts: { poolSize?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
