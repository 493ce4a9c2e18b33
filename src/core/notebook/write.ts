// Writing a notebook file without damaging it: through symbolic links to their target, keeping the file's mode
// (and owner, where allowed) and its hard links, atomically where the file system allows, and never leaving a
// temporary file behind.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, readFileSync, renameSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LoupeError } from '../../common/errors';

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The file a write to `path` must change: a symbolic link's target (followed to the end), else the path itself. */
export async function writeTarget(path: string): Promise<string> {
  try {
    return await fsp.realpath(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // A dangling link: write where it points, so the link keeps working.
    const link = await fsp.readlink(path).catch(() => undefined);
    return link === undefined ? path : join(dirname(path), link);
  }
}

/**
 * Checks, before any work is done, that `path` can be written as a file: not a folder, its folder exists (created
 * when `createFolders`) and is writable. Throws a LoupeError that names the path and the fix.
 */
export async function checkWritable(path: string, what: string, createFolders = true): Promise<void> {
  const target = await writeTarget(path);
  const st = await statOrUndefined(target);
  if (st?.isDirectory()) throw new LoupeError('usage', `${what} ${path} is a folder: give a file path (for example ${join(path, 'notebook.loupe')})`);
  const dir = dirname(target);
  const d = await statOrUndefined(dir);
  if (!d) {
    if (!createFolders) throw new LoupeError('write-failed', `cannot write ${path}: the folder ${dir} does not exist`);
    await fsp.mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      throw new LoupeError('write-failed', `cannot create the folder ${dir} for ${path}: ${e.message}`);
    });
  } else if (!d.isDirectory()) throw new LoupeError('write-failed', `cannot write ${path}: ${dir} is not a folder`);
  await fsp.access(st ? target : dir, constants.W_OK).catch(() => {
    throw new LoupeError('write-failed', `cannot write ${path}: permission denied`);
  });
}

/**
 * Writes `data` to `path`. A new temporary file in the same folder is renamed over the target, with the target's
 * mode (and owner) carried over; a file with several hard links is rewritten in place instead (a rename would
 * split the links), from a complete temporary copy that is removed afterwards.
 *
 * `unchangedFrom`: replace the file only if it still holds these bytes (another program may save it while the
 * temporary copy is written and synced). Checked synchronously just before the rename, so the window left is a
 * read and a rename with no other work between; returns false, writing nothing, when the file changed. The window
 * cannot be closed: POSIX has no portable compare-and-rename (Linux's RENAME_EXCHANGE is not reachable from Node),
 * and moving the file aside first would leave readers, editors among them, a moment with no file at all.
 */
export async function writeNotebookFile(path: string, data: Uint8Array, opts: { unchangedFrom?: Uint8Array } = {}): Promise<boolean> {
  const target = await writeTarget(path);
  const st = await statOrUndefined(target);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await fsp.open(tmp, 'wx', st ? st.mode & 0o7777 : 0o666);
    try {
      await fh.writeFile(data);
      await fh.sync();
      if (st) {
        // writeFile's mode is filtered by the umask: set the original mode exactly.
        await fh.chmod(st.mode & 0o7777);
        if (process.getuid?.() === 0 && (st.uid !== 0 || st.gid !== 0)) await fh.chown(st.uid, st.gid).catch(() => undefined);
      }
    } finally {
      await fh.close();
    }
    // Checked synchronously just before the rename: nothing of ours runs between the two.
    if (opts.unchangedFrom && !sameBytes(target, opts.unchangedFrom)) return false;
    if (st && st.nlink > 1) await fsp.copyFile(tmp, target);
    else renameSync(tmp, target);
    return true;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LoupeError('write-failed', `could not write ${path}: ${err.code === 'EISDIR' ? 'it is a folder' : err.message}`, { cause: e });
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

function sameBytes(path: string, bytes: Uint8Array): boolean {
  try {
    return readFileSync(path).equals(bytes);
  } catch {
    return false;
  }
}
