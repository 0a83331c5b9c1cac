/**
 * Runs a script in a plain Node child (outside jest's module sandbox, where dynamic imports are
 * refused and typed-array work across realms is slow): `input` on its stdin, its stdout back.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export function runNodeScript(script: string, input: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`${what} failed (${code}): ${Buffer.concat(err).toString().slice(0, 2000)}`));
      resolve(Buffer.concat(out).toString());
    });
    child.stdin.end(input);
  });
}
