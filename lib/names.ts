/**
 * Object names of a bulk put as a set: which index a name belongs to, and whether another file of the run
 * (the manifest, its records) would take an object's place.
 *
 * The names of one template never collide with each other: every `{index}` and `{n}` of a name holds the
 * same index, `{index}` has one width per run, so two names of equal length have their digits at the
 * same places and so the same index. What can collide is an object and the run's manifest or records
 * (`--name-template '{n}' --manifest d/1`), or, on a file system, one's path running through the other
 * (an object where the manifest's directory must be, or the reverse).
 * @module
 */
import { invalidRange } from './errors.js';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A matcher of the names a template makes: the object's index for a name the template makes (for some
 * index), else undefined. A template without `{index}` or `{n}` (a directory prefix of one) matches its
 * one name with index -1.
 */
export function templateMatcher(template: string, extension: string): (name: string) => number | undefined {
  let source = '';
  let last = 0;
  for (const m of template.matchAll(/\{(\w*)\}/g)) {
    source += escapeRegExp(template.slice(last, m.index));
    source += m[1] === 'ext' ? escapeRegExp(extension) : '(\\d+)';
    last = m.index + m[0].length;
  }
  source += escapeRegExp(template.slice(last));
  const re = new RegExp(`^${source}$`);
  return (name) => {
    const m = re.exec(name);
    if (!m) return undefined;
    if (m.length === 1) return -1;
    const indices = m.slice(1).map(Number);
    return indices.every((i) => i === indices[0]) ? indices[0] : undefined;
  };
}

/** Which indices are this run's objects. */
export interface NameSet {
  template: string;
  extension: string;
  count: number;
  shard?: { index: number; count: number };
}

function isOurs(index: number | undefined, set: NameSet): boolean {
  if (index === undefined || index >= set.count) return false;
  if (index < 0) return true;
  return !set.shard || index % set.shard.count === set.shard.index;
}

/**
 * Refuses a file of the run (`relative`: its name under the target, `/`-separated) that is an object's
 * name, or (`paths`: local targets) lies under an object's name or above one.
 * @param parameter - the option that placed the file (`manifest`), for the error.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` naming `parameter`.
 */
export function refuseCollision(relative: string, set: NameSet, parameter: string, value: unknown, paths: boolean): void {
  const clash = (what: string) => {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      parameter,
      value,
      `a location that no object of the run takes (${what}); choose another --manifest or --name-template`,
    );
  };
  const matcher = templateMatcher(set.template, set.extension);
  const index = matcher(relative);
  if (isOurs(index, set)) clash(`object ${index} is named ${relative}`);
  if (!paths) return;
  // An object where one of the file's directories must be.
  const parts = relative.split('/');
  for (let k = 1; k < parts.length; k++) {
    const dir = parts.slice(0, k).join('/');
    const i = matcher(dir);
    if (isOurs(i, set)) clash(`object ${i} is the file ${dir}, where a directory must be`);
  }
  // The file where one of the objects' directories must be.
  const dirs = set.template.split('/');
  for (let k = 1; k < dirs.length; k++) {
    const i = templateMatcher(dirs.slice(0, k).join('/'), set.extension)(relative);
    if (isOurs(i, set)) clash(`${relative} is a directory of the object names`);
  }
}
