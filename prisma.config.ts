import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

// Offline-friendly Prisma CLI: the JS engine with the pg adapter needs no downloaded binaries.
export default defineConfig({
  schema: path.join(__dirname, 'prisma', 'schema.prisma'),
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () =>
    new PrismaPg({ connectionString: process.env.DATABASE_URL ?? 'postgresql://localhost/flotilla' }),
});
