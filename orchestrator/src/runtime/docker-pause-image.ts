/**
 * `zerodrop/pause:<hash>`: the image of a pod sandbox (docker-sandbox.ts), Kubernetes' pause
 * container made offline: the host's `sleep` (coreutils) and the libraries `ldd` lists, `docker
 * import`ed, running `sleep infinity` as nobody. It only holds a network namespace, so it needs
 * nothing else; a few hundred kB, a few MB of memory per sandbox.
 */
import type Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import { engineCall } from './docker-engine.js';
import { IMAGE_LABELS, UNPRIVILEGED_USER, inspectImage } from './docker-image.js';
import { binaryClosure, filesHash, importRootfs, removeImageQuietly } from './docker-image-import.js';

const PAUSE_REPOSITORY = 'zerodrop/pause';
const RECIPE_VERSION = '1';
/** Where sleep lives in the image: the command of every sandbox. */
export const PAUSE_COMMAND = ['/bin/sleep', 'infinity'];

/** The image's files and their hash: a rebuilt host sleep or libc gives another tag. */
function pauseRecipe(sleepBinary: string): { files: Array<[string, string]>; hash: string } {
  const files = binaryClosure(sleepBinary, '/bin/sleep', 'install ldd (Debian: apt-get install -y libc-bin)');
  return { files, hash: filesHash(`pause/${RECIPE_VERSION}\n`, files, 12) };
}

/** Builds the pause image unless the current one exists; resolves to its reference. */
export async function ensurePauseImage(docker: Docker, log?: (line: string) => void, sleepBinary = '/bin/sleep'): Promise<string> {
  const recipe = pauseRecipe(sleepBinary);
  const image = `${PAUSE_REPOSITORY}:${recipe.hash}`;
  if (await inspectImage(docker, image)) return image;
  log?.(`docker: building ${image} from ${sleepBinary} (docker import)…`);
  await importRootfs(docker, image, {
    files: recipe.files,
    dirs: ['proc', 'sys', 'dev', 'etc'],
    changes: [
      `USER ${UNPRIVILEGED_USER}`,
      `LABEL ${IMAGE_LABELS.kind}=pause ${IMAGE_LABELS.contentHash}=${recipe.hash}`,
      `CMD ${JSON.stringify(PAUSE_COMMAND)}`,
    ],
  });
  if (!(await inspectImage(docker, image))) throw new ZerodropError('ZD_IMAGE_BUILD_FAILED', `docker import reported success but ${image} is not there`);
  await removeStalePauseImages(docker, image);
  return image;
}

/** Older pause images (another host sleep or libc): removed unless a container still uses one. */
async function removeStalePauseImages(docker: Docker, keep: string): Promise<void> {
  const images = await engineCall(docker, () => docker.listImages({ filters: JSON.stringify({ label: [`${IMAGE_LABELS.kind}=pause`] }) }));
  for (const img of images) if (!(img.RepoTags ?? []).includes(keep)) await removeImageQuietly(docker, img.Id);
}
