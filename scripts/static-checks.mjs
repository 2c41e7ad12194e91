#!/usr/bin/env node
// `npm test`'s first half: the build and the static checks (typecheck, eslint, knip, prettier), run
// side by side, as many at once as there are CPUs: package.json's scripts of those names. They read
// the sources and write nothing but dist/ (the build), so they can share the machine; one after the
// other they took ~65 s of the suite on 2 cores. Each job's output is printed whole when it ends, so the lines never interleave.
// Exit 1 if any failed, after all have ended, with every failure shown.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

// package.json's own scripts (what each runs is said there once), longest first, so the last to start is a short one.
const JOBS = ['lint:eslint', 'typecheck', 'build', 'lint:knip', 'lint:format'];

function run(name) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', name], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('error', (err) => out.push(Buffer.from(`npm: ${err.message}\n`)));
    child.on('close', (code, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0;
      process.stdout.write(`[checks] ${ok ? 'ok  ' : 'FAIL'} ${name} (${secs} s)${ok ? '' : `: exit ${code ?? signal}`}\n`);
      const text = Buffer.concat(out).toString('utf8').trimEnd();
      if (!ok && text !== '') process.stdout.write(`${text}\n`);
      resolve(ok);
    });
  });
}

const queue = [...JOBS];
const results = [];
async function worker() {
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) results.push(await run(job));
}
await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), JOBS.length)) }, worker));
process.exitCode = results.every(Boolean) ? 0 : 1;
