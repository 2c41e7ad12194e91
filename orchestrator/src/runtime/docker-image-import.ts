/**
 * The offline image machinery shared by our images (no registry is reachable on these machines): a
 * host binary's `ldd` closure, a directory tarred and `docker import`ed or built, the engine's
 * progress stream followed to its last error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import { engineCall, engineMessage } from './docker-engine.js';

/** A root filesystem to import as an image: host files copied in, empty dirs, small text files. */
export interface RootfsRecipe {
  /** [path inside the image, host path], copied executable. */
  files: Array<[string, string]>;
  /** Empty directories to create ('tmp' is made world-writable, sticky). */
  dirs: string[];
  /** Small files by path inside the image. */
  texts?: Record<string, string>;
  /** Dockerfile instructions applied at import (USER, CMD, LABEL…). */
  changes: string[];
}

/**
 * Stages files in a temp dir (`stage` writes them and names the dir to send), sends its tar to
 * the engine (`send`: an import or a build), follows the progress to its last error, and removes
 * the stage whatever happened. Any failure is a ZD_IMAGE_BUILD_FAILED naming `image`.
 */
export async function buildFromStage(
  docker: Docker,
  image: string,
  stage: (dir: string) => string,
  send: (tar: Readable) => Promise<NodeJS.ReadableStream>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'zerodrop-stage-'));
  try {
    const tar = tarStream(stage(dir));
    const stream = await engineCall(docker, () => send(tar.stream));
    await followBuild(docker, stream, image);
    await tar.done;
  } catch (err) {
    throw asBuildError(image, err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stages the rootfs, `docker import`s it as `image` (buildFromStage). */
export async function importRootfs(docker: Docker, image: string, recipe: RootfsRecipe): Promise<void> {
  const [repo, tag] = splitRef(image);
  await buildFromStage(
    docker,
    image,
    (dir) => stageRootfs(join(dir, 'rootfs'), recipe),
    (tar) => docker.importImage(tar, { repo, tag, changes: recipe.changes }),
  );
}

function stageRootfs(rootfs: string, recipe: RootfsRecipe): string {
  for (const [inImage, host] of recipe.files) {
    const target = join(rootfs, inImage);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(host, target);
    chmodSync(target, 0o755);
  }
  for (const dir of recipe.dirs) mkdirSync(join(rootfs, dir), { recursive: true });
  if (recipe.dirs.includes('tmp')) chmodSync(join(rootfs, 'tmp'), 0o1777);
  for (const [path, text] of Object.entries(recipe.texts ?? {})) writeFileSync(join(rootfs, path), text);
  return rootfs;
}

/**
 * A binary and every shared library `ldd` lists (resolved to real files, plus the dynamic loader),
 * as [path inside the image, host path]. `fix` says what to do when ldd is missing.
 */
export function binaryClosure(binary: string, inImage: string, fix: string): Array<[string, string]> {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (ldd.error || ldd.status !== 0) {
    throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `cannot list the shared libraries of ${binary} (ldd: ${ldd.error?.message ?? ldd.stderr.trim()})`, {
      fix,
    });
  }
  const files: Array<[string, string]> = [[inImage, realpathSync(binary)]];
  for (const line of ldd.stdout.split('\n')) {
    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line.trim());
    if (!m?.[1]) {
      if (/not found/.test(line)) {
        throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `${binary} needs a library that is missing: ${line.trim()}`);
      }
      continue; // linux-vdso.so.1 has no file
    }
    files.push([m[1], realpathSync(m[1])]);
  }
  return files;
}

/** A short hash of `prefix` and each file's image path, host path, size and mtime: a changed host file gives another. */
export function filesHash(prefix: string, files: Array<[string, string]>, length: number): string {
  const h = createHash('sha256').update(prefix);
  for (const [inImage, host] of files) {
    const st = statSync(host);
    h.update(`${inImage}\0${host}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, length);
}

export function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}

/** `tar -c` of a directory as a stream (GNU tar is on every Debian machine), owned by root, world-readable. */
export function tarStream(dir: string): { stream: Readable; done: Promise<void> } {
  const child = spawn('tar', ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '--mode=a+rX,go-w', '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const done = new Promise<void>((resolveDone, reject) => {
    child.on('error', (err) => reject(new Error(`tar: ${err.message} (install GNU tar)`)));
    child.on('close', (code) => (code === 0 ? resolveDone() : reject(new Error(`tar exited with ${code}: ${stderr.trim()}`))));
  });
  done.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return { stream: child.stdout, done };
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Waits for a build/import progress stream; throws with the engine's message if a step failed. */
export function followBuild(docker: Docker, stream: NodeJS.ReadableStream, image: string): Promise<ProgressEvent[]> {
  return new Promise((resolveBuild, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: ProgressEvent[]) => {
      if (err) return reject(err);
      const failed = output.find((e) => e.error !== undefined || e.errorDetail !== undefined);
      if (failed) {
        const tail = output
          .map((e) => (e.stream ?? e.status ?? '').trim())
          .filter((s) => s.length > 0)
          .slice(-10);
        return reject(
          new ZerodropError('ZD_IMAGE_BUILD_FAILED', `building ${image} failed: ${failed.error ?? failed.errorDetail?.message ?? '?'}`, {
            details: ['last build output:', ...tail.map((l) => `  ${l}`)],
          }),
        );
      }
      resolveBuild(output);
    });
  });
}

export function asBuildError(image: string, err: unknown): ZerodropError {
  if (err instanceof ZerodropError) return err;
  return new ZerodropError('ZD_IMAGE_BUILD_FAILED', `building ${image} failed: ${engineMessage(err)}`, {
    fix: 'check `docker info` and free disk space; the build runs offline from host binaries and dist/',
    cause: err,
  });
}

export async function removeImageQuietly(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getImage(id).remove({ noprune: false });
  } catch (err) {
    // 409: still used by a container (a live run); it goes when that run's containers go.
    void errorMessage(err);
  }
}
