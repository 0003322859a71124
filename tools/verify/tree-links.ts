/**
 * Puts files into a stage's directory cheaply: a hard link per file (no bytes copied, the same
 * inode), a copy only where a link cannot be made (another filesystem, or one without hard
 * links). Symbolic links are recreated as they are, never followed, as COPY does. Used for
 * node_modules (tens of thousands of files) and for COPY --from between stages.
 */
import { constants } from "node:fs";
import { copyFile, link, lstat, mkdir, readdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";

/** How many files are linked at once. */
const PARALLEL = 64;

export interface LinkCount {
  /** Files hard-linked. */
  linked: number;
  /** Files copied because a hard link failed. */
  copied: number;
}

/** Errors of link(2) that mean "not possible here", not "something is wrong". */
const CANNOT_LINK = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP"]);

/**
 * Copies into a new inode: whatever is at `dest` is unlinked first, because it may be a hard
 * link to the context's own file, which writing through it would change.
 */
async function freshCopy(source: string, dest: string): Promise<void> {
  await rm(dest, { force: true, recursive: true });
  await copyFile(source, dest, constants.COPYFILE_EXCL);
}

/** Runs `make`, replacing what is at `dest` when it already exists: COPY overwrites. */
async function replacing(dest: string, make: () => Promise<void>): Promise<void> {
  try {
    await make();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await rm(dest, { force: true, recursive: true });
    await make();
  }
}

async function linkOrCopy(source: string, dest: string, count: LinkCount): Promise<void> {
  try {
    await replacing(dest, () => link(source, dest));
    count.linked++;
  } catch (err) {
    if (!CANNOT_LINK.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
    await freshCopy(source, dest);
    count.copied++;
  }
}

/**
 * Links `source` (a file, a symbolic link or a directory tree) to `dest`, creating parents and
 * replacing files already at the destination, as COPY does.
 * @param skip relative paths (POSIX, from `source`) to leave out, with everything under them.
 */
export async function linkTree(
  source: string,
  dest: string,
  skip: (relative: string) => boolean = () => false,
): Promise<LinkCount> {
  const count: LinkCount = { linked: 0, copied: 0 };
  // Directories are created as they are found; files queue for the link workers.
  const files: [string, string][] = [];
  const directories: [string, string, string][] = [[source, dest, ""]];
  const pending = async (): Promise<void> => {
    for (let entry = directories.shift(); entry !== undefined; entry = directories.shift()) {
      const [from, to, relative] = entry;
      const stats = await lstat(from);
      if (stats.isSymbolicLink()) {
        await copySymlink(from, to);
      } else if (stats.isDirectory()) {
        await mkdir(to, { recursive: true });
        for (const item of await readdir(from, { withFileTypes: true })) {
          const child = relative === "" ? item.name : `${relative}/${item.name}`;
          if (skip(child)) continue;
          if (item.isDirectory() || item.isSymbolicLink())
            directories.push([join(from, item.name), join(to, item.name), child]);
          else files.push([join(from, item.name), join(to, item.name)]);
        }
      } else {
        await mkdir(dirname(to), { recursive: true });
        files.push([from, to]);
      }
    }
  };
  // Walk breadth-first with several walkers: one level's directories are listed concurrently.
  while (directories.length > 0)
    await Promise.all(Array.from({ length: Math.min(PARALLEL, directories.length) }, pending));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const [from, to] = files[next++]!;
      await linkOrCopy(from, to, count);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return count;
}

/** Copies one file (content and mode), creating parents; used for files from the build context. */
export async function copyInto(source: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await freshCopy(source, dest);
}

/** Recreates a symbolic link as it is, creating parents. */
export async function copySymlink(source: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const target = await readlink(source);
  await replacing(dest, () => symlink(target, dest));
}
