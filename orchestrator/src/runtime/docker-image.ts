/**
 * Images, built offline (no registry is reachable on these machines):
 *
 * 1. `zerodrop/node-base:<node version>` — a rootfs (docker-image-import.ts) holding the host's own `node` binary plus the
 *    shared libraries `ldd` lists (and the dynamic loader), `docker import`ed. Built once per
 *    node binary and kept.
 * 2. `zerodrop/sample-app:local` — `FROM` the base, built with the engine's classic builder (a
 *    local base needs no pull) from a small context: dist/sample-app, any other compiled file it
 *    imports, and exactly the production packages it imports (express, prom-client and their
 *    dependency closure, resolved the way Node resolves them). The image carries a content hash
 *    of all of that (plus the node binary and this recipe) as a label; a stale image is rebuilt.
 *
 * Users' images (`image: myapp:v1`) are used as they are; a missing one is a clear error, since
 * nothing can be pulled here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import { monotonicMs } from '../../../common/src/clock.js';
import { engineCall, engineStatus } from './docker-engine.js';
import { binaryClosure, buildFromStage, filesHash, importRootfs, removeImageQuietly } from './docker-image-import.js';
import { packageRoot } from '../../../common/src/package-root.js';

/** The sample-app image reference (harness/src/scenario/resolve.ts imports it). */
export const SAMPLE_APP_IMAGE = 'zerodrop/sample-app:local';
export const SAMPLE_APP_CONTAINER_PORT = 8080;
/** The sample-app's admin port inside its container (metrics, final counters). */
export const SAMPLE_APP_ADMIN_CONTAINER_PORT = 9091;
export const NODE_BASE_REPOSITORY = 'zerodrop/node-base';
/** Where node lives in our images. */
export const IMAGE_NODE_PATH = '/usr/local/bin/node';
/** nobody:nogroup — every zerodrop image runs unprivileged. */
export const UNPRIVILEGED_USER = '65534:65534';

export const IMAGE_LABELS = {
  kind: 'zerodrop.image',
  contentHash: 'zerodrop.content-hash',
  nodeVersion: 'zerodrop.node-version',
} as const;

/** Bump when the recipe below changes, so existing images count as stale. */
const RECIPE_VERSION = '2';

export interface ImageBuildOptions {
  /** The zerodrop package root (holds package.json, dist/, node_modules/). Default: found from this file. */
  root?: string;
  /** The node binary to put in the base image. Default: the one running us. */
  nodeBinary?: string;
  log?: (line: string) => void;
  /** Rebuild even when the label says the image is current. */
  force?: boolean;
}

export interface ImageResult {
  image: string;
  id: string;
  /** false when an existing image was current. */
  built: boolean;
  ms: number;
  contentHash: string;
}

/** What the runtime needs to know about an image before it creates a container from it. */
export interface ImageFacts {
  ref: string;
  id: string;
  /** Container ports the image EXPOSEs (tcp). */
  exposedPorts: number[];
  /** The image's USER ('' = root). */
  user: string;
}

// ------------------------------------------------------------------------------------ paths

export { packageRoot };

// ------------------------------------------------------------------------------------ facts

/** Reads an image; null when the engine does not have it. */
export async function inspectImage(docker: Docker, ref: string): Promise<(ImageFacts & { labels: Record<string, string> }) | null> {
  try {
    const info = await engineCall(docker, () => docker.getImage(ref).inspect());
    const exposed = Object.keys(info.Config?.ExposedPorts ?? {})
      .filter((p) => p.endsWith('/tcp') || !p.includes('/'))
      .map((p) => Number.parseInt(p, 10))
      .filter((n) => Number.isInteger(n) && n > 0);
    return { ref, id: info.Id, exposedPorts: exposed, user: info.Config?.User ?? '', labels: info.Config?.Labels ?? {} };
  } catch (err) {
    if (engineStatus(err) === 404) return null;
    throw err;
  }
}

/**
 * A user's image, used as it is. Nothing can be pulled on these machines, so a missing image is
 * an error that names the image and the two ways to get it onto the engine.
 */
export async function requireImage(docker: Docker, ref: string): Promise<ImageFacts> {
  const facts = await inspectImage(docker, ref);
  if (facts) return facts;
  throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `image "${ref}" is not on this Docker engine, and no registry is reachable from here`, {
    details: ['zerodrop never pulls: it runs images the local engine already has (`docker images` lists them)'],
    fix: `build it on this machine (docker build -t ${ref} .) or load a saved copy (docker save ${ref} -o img.tar elsewhere, then docker load -i img.tar here)`,
  });
}

// ------------------------------------------------------------------------------------ base image

interface BaseRecipe {
  nodeBinary: string;
  nodeVersion: string;
  /** [path inside the image, host path to read it from] */
  files: Array<[string, string]>;
  hash: string;
}

/** The node binary plus every library `ldd` lists (resolved to real files), and its hash. */
export function nodeBaseRecipe(nodeBinary: string = process.execPath): BaseRecipe {
  const version = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  const nodeVersion = version.status === 0 ? version.stdout.trim() : process.version;
  const files = binaryClosure(
    nodeBinary,
    IMAGE_NODE_PATH,
    'install ldd (Debian: apt-get install -y libc-bin), or build zerodrop/node-base yourself from a Node image',
  );
  return { nodeBinary, nodeVersion, files, hash: filesHash(`node-base/${RECIPE_VERSION}\n${nodeVersion}\n`, files, 16) };
}

export function nodeBaseImage(nodeVersion: string): string {
  return `${NODE_BASE_REPOSITORY}:${nodeVersion}`;
}

/** Builds zerodrop/node-base:<node version> from the host's node unless a current one exists. */
export async function ensureNodeBaseImage(docker: Docker, options: ImageBuildOptions = {}): Promise<ImageResult> {
  const t0 = monotonicMs();
  const recipe = nodeBaseRecipe(options.nodeBinary);
  const image = nodeBaseImage(recipe.nodeVersion);
  const existing = await inspectImage(docker, image);
  if (existing && !options.force && existing.labels[IMAGE_LABELS.contentHash] === recipe.hash) {
    return { image, id: existing.id, built: false, ms: monotonicMs() - t0, contentHash: recipe.hash };
  }
  options.log?.(`docker: building ${image} from ${recipe.nodeBinary} and ${recipe.files.length - 1} shared libraries (docker import)…`);
  await importRootfs(docker, image, {
    files: recipe.files,
    dirs: ['tmp', 'app', 'etc', 'proc', 'sys', 'dev'],
    texts: {
      'etc/passwd': 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
      'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
      'etc/nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
    },
    changes: [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production',
      `USER ${UNPRIVILEGED_USER}`,
      'WORKDIR /app',
      `LABEL ${IMAGE_LABELS.kind}=node-base ${IMAGE_LABELS.contentHash}=${recipe.hash} ${IMAGE_LABELS.nodeVersion}=${recipe.nodeVersion}`,
      `CMD ["${IMAGE_NODE_PATH}"]`,
    ],
  });
  const built = await inspectImage(docker, image);
  if (!built) throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `docker import reported success but ${image} is not there`);
  if (existing && existing.id !== built.id) await removeImageQuietly(docker, existing.id);
  return { image, id: built.id, built: true, ms: monotonicMs() - t0, contentHash: recipe.hash };
}

// ------------------------------------------------------------------------------------ sample-app

interface AppRecipe {
  /** [path inside the build context's app/ dir, host path] */
  files: Array<[string, string]>;
  packages: string[];
  dockerfile: string;
  labels: Record<string, string>;
  hash: string;
  base: BaseRecipe;
}

/** Bare module specifier → package name ("@scope/pkg/sub" → "@scope/pkg"); null for builtins. */
function packageName(spec: string): string | null {
  if (spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0] ?? '')) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? null);
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

/** Follows the relative imports of the compiled entry; returns the files reached and the packages they import. */
function compiledClosure(distRoot: string, entry: string): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    if (!existsSync(file)) {
      throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `the sample-app image needs ${relative(distRoot, file)}, which is not built`, {
        fix: 'run npm run build',
      });
    }
    files.add(file);
    // Comments may quote imports (`from 'x'` in a doc comment): scan the code only.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else {
        const name = packageName(spec);
        if (name) packages.add(name);
      }
    }
  }
  return { files: [...files], packages };
}

/** Where Node would find `name` when required from a file in `fromDir` (walking up node_modules). */
function resolvePackageDir(name: string, fromDir: string): string | null {
  let dir = fromDir;
  for (;;) {
    if (!dir.endsWith(`${sep}node_modules`)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Where a package directory goes inside the app dir. Inside the package root the host layout is
 * kept as it is (npm's hoisting and nesting), so Node resolves every package in the image exactly
 * as on the host; a package hoisted above the root (zerodrop installed as a dependency) lands under
 * the app's own node_modules.
 */
function destinationOf(root: string, hostDir: string): string {
  const rel = relative(root, hostDir);
  if (!rel.startsWith('..')) return rel;
  const parts = hostDir.split(sep);
  const first = parts.indexOf('node_modules');
  return parts.slice(first).join(sep);
}

/** The production dependency closure of `roots` (dependencies + installed optionalDependencies): [dest, host dir]. */
function dependencyClosure(root: string, roots: string[]): Array<[string, string]> {
  const placed = new Map<string, string>(); // host dir → dest
  const visit = (name: string, fromHostDir: string, optional: boolean): void => {
    const hostDir = resolvePackageDir(name, fromHostDir);
    if (!hostDir) {
      if (optional) return;
      throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `the sample-app needs the package "${name}", which is not installed`, { fix: 'run npm ci' });
    }
    if (placed.has(hostDir)) return;
    placed.set(hostDir, destinationOf(root, hostDir));
    const pkg = JSON.parse(readFileSync(join(hostDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const optionalDeps = pkg.optionalDependencies ?? {};
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, hostDir, optionalDeps[dep] !== undefined);
    for (const dep of Object.keys(optionalDeps)) visit(dep, hostDir, true);
  };
  for (const name of roots) visit(name, root, false);
  return [...placed.entries()].map(([host, dest]) => [dest, host]);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '.bin') continue;
        walk(p);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (entry.name.endsWith('.map') || entry.name.endsWith('.d.ts') || entry.name.endsWith('.md')) continue;
        out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}

export function sampleAppRecipe(options: ImageBuildOptions = {}): AppRecipe {
  const root = options.root ?? packageRoot();
  const dist = join(root, 'dist');
  const entry = join(dist, 'sample-app/src/main.js');
  if (!existsSync(entry)) {
    throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `the sample-app image is built from ${relative(root, entry)}, which does not exist`, {
      fix: 'run npm run build first',
    });
  }
  const base = nodeBaseRecipe(options.nodeBinary);
  const closure = compiledClosure(dist, entry);
  const files = new Map<string, string>();
  // All of dist/sample-app (cheap, and safe against computed imports), plus any other compiled file it reaches.
  for (const f of listFiles(join(dist, 'sample-app'))) files.set(relative(root, f), f);
  for (const f of closure.files) files.set(relative(root, f), f);
  const packages = [...closure.packages].sort();
  for (const [dest, hostDir] of dependencyClosure(root, packages)) {
    for (const f of listFiles(hostDir)) {
      const rel = relative(hostDir, f);
      if (rel.startsWith(`node_modules${sep}`)) continue; // nested deps are placed by the closure
      files.set(join(dest, rel), f);
    }
  }
  files.set('package.json', ''); // written by us: {"type":"module"}
  const sorted = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const h = createHash('sha256').update(`sample-app/${RECIPE_VERSION}\n${base.hash}\n`);
  for (const [dest, host] of sorted) {
    h.update(`${dest}\0`);
    if (host !== '') h.update(readFileSync(host));
    h.update('\n');
  }
  const lock = join(root, 'package-lock.json');
  if (existsSync(lock)) h.update(readFileSync(lock));
  const hash = h.digest('hex').slice(0, 16);
  // Few instructions: the classic builder creates and commits an intermediate container for each
  // one, metadata included (~0.5 s apiece on a busy 2-core machine). WORKDIR /app, USER 65534,
  // NODE_ENV and PATH come from the base image; the labels go in as build parameters.
  const dockerfile = [
    `FROM ${nodeBaseImage(base.nodeVersion)}`,
    'COPY app/ /app/',
    `EXPOSE ${SAMPLE_APP_CONTAINER_PORT} ${SAMPLE_APP_ADMIN_CONTAINER_PORT}`,
    `ENTRYPOINT ["${IMAGE_NODE_PATH}", "/app/dist/sample-app/src/main.js"]`,
    `CMD ["--host", "0.0.0.0", "--port", "${SAMPLE_APP_CONTAINER_PORT}", "--admin-port", "${SAMPLE_APP_ADMIN_CONTAINER_PORT}"]`,
    '',
  ].join('\n');
  const labels = {
    [IMAGE_LABELS.kind]: 'sample-app',
    [IMAGE_LABELS.contentHash]: hash,
    [IMAGE_LABELS.nodeVersion]: base.nodeVersion,
  };
  return { files: sorted, packages, dockerfile, labels, hash, base };
}

/**
 * Builds zerodrop/sample-app:local when it is missing or its content hash (dist/, the packages it
 * imports, package-lock.json, the node binary) changed. Builds the base image first if needed.
 */
export async function ensureSampleAppImage(docker: Docker, options: ImageBuildOptions = {}): Promise<ImageResult> {
  const t0 = monotonicMs();
  const recipe = sampleAppRecipe(options);
  const existing = await inspectImage(docker, SAMPLE_APP_IMAGE);
  if (existing && !options.force && existing.labels[IMAGE_LABELS.contentHash] === recipe.hash) {
    return { image: SAMPLE_APP_IMAGE, id: existing.id, built: false, ms: monotonicMs() - t0, contentHash: recipe.hash };
  }
  await ensureNodeBaseImage(docker, options);
  options.log?.(
    `docker: building ${SAMPLE_APP_IMAGE} (${existing ? 'stale' : 'missing'}; ${recipe.files.length} files, packages ${recipe.packages.join(', ')})…`,
  );
  await buildFromStage(
    docker,
    SAMPLE_APP_IMAGE,
    (stage) => {
      for (const [dest, host] of recipe.files) {
        const target = join(stage, 'app', dest);
        mkdirSync(dirname(target), { recursive: true });
        if (host === '') writeFileSync(target, '{"type":"module","private":true}\n');
        else cpSync(host, target, { dereference: true });
      }
      writeFileSync(join(stage, 'Dockerfile'), recipe.dockerfile);
      return stage;
    },
    (tar) => docker.buildImage(tar, { t: SAMPLE_APP_IMAGE, rm: true, forcerm: true, labels: recipe.labels }),
  );
  const built = await inspectImage(docker, SAMPLE_APP_IMAGE);
  if (!built || built.labels[IMAGE_LABELS.contentHash] !== recipe.hash) {
    throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `the build reported success but ${SAMPLE_APP_IMAGE} does not carry the new content hash`);
  }
  if (existing && existing.id !== built.id) await removeImageQuietly(docker, existing.id);
  return { image: SAMPLE_APP_IMAGE, id: built.id, built: true, ms: monotonicMs() - t0, contentHash: recipe.hash };
}
