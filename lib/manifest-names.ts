/**
 * The set of object names a manifest lists, in memory that does not grow with a standard run: two
 * records must not name the same object, and `verify` asks of every file under the target whether the
 * manifest lists it.
 *
 * A run names its objects by a template (`obj-{index}.bin{ext}`), so most names are "the name of index
 * i": those are kept as one bit for i in a sparse bitmap (pages of 32,768 bits, allocated when touched; a
 * run of 10^6 objects costs 125 KiB). Names that are no template name (a template with several numeric
 * fields, or names a manifest was edited to hold) are kept as strings.
 * @module
 */

/** Bits per bitmap page. */
const PAGE_BITS = 32768;

/** A set of whole numbers in [0, 2^53) as a bitmap of pages allocated when first touched: memory follows
 * the numbers present (4 KiB per 32,768-number page touched), not the largest one possible. */
export class SparseBitmap {
  readonly #pages = new Map<number, Uint32Array>();

  /** Sets bit i; returns false (and changes nothing) when it was set already. */
  add(i: number): boolean {
    const page = Math.floor(i / PAGE_BITS);
    let bits = this.#pages.get(page);
    if (!bits) this.#pages.set(page, (bits = new Uint32Array(PAGE_BITS / 32)));
    const word = (i % PAGE_BITS) >>> 5;
    const bit = 1 << (i % 32);
    if (bits[word]! & bit) return false;
    bits[word]! |= bit;
    return true;
  }

  /** Whether bit i is set. */
  has(i: number): boolean {
    const bits = this.#pages.get(Math.floor(i / PAGE_BITS));
    return bits !== undefined && (bits[(i % PAGE_BITS) >>> 5]! & (1 << (i % 32))) !== 0;
  }
}

/** Object names, each added once (see the module documentation). */
export class ObjectNames {
  readonly #template: RegExp | undefined;
  readonly #expand: ((index: number) => string) | undefined;
  readonly #slots = new SparseBitmap();
  readonly #others = new Set<string>();
  #size = 0;

  /**
   * @param template - the manifest's `nameTemplate` (default `obj-{index}.bin{ext}`): `{index}` the index
   *   zero-padded to max(6, digits of count - 1), `{n}` the bare index, `{ext}` the compression's extension.
   * @param count - objects in the run.
   * @param extension - `''`, `.zst` or `.gz`.
   */
  constructor(template: string | undefined, count: number, extension: string) {
    const t = template ?? 'obj-{index}.bin{ext}';
    const fields = t.match(/\{\w*\}/g) ?? [];
    const numeric = fields.filter((f) => f === '{index}' || f === '{n}');
    // One numeric field, no unknown ones: then a name maps back to at most one index. (Several numeric
    // fields would need a backtracking pattern over untrusted names; such names are kept as strings.)
    if (numeric.length !== 1 || fields.some((f) => f !== '{index}' && f !== '{n}' && f !== '{ext}')) return;
    const width = Math.max(6, String(Math.max(0, count - 1)).length);
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const source = t
      .split(/(\{\w*\})/)
      .map((part) => (part === '{index}' ? '(\\d+)' : part === '{n}' ? '(0|[1-9]\\d*)' : part === '{ext}' ? escape(extension) : escape(part)))
      .join('');
    this.#template = new RegExp(`^${source}$`);
    this.#expand = (index) => t.replace(/\{(\w*)\}/g, (_f, name: string) => (name === 'index' ? String(index).padStart(width, '0') : name === 'n' ? String(index) : extension));
  }

  /** Names added. */
  get size(): number {
    return this.#size;
  }

  /** The index whose template name `name` is, or -1. */
  #slot(name: string): number {
    const m = this.#template?.exec(name);
    if (!m) return -1;
    const index = Number(m[1]);
    return Number.isSafeInteger(index) && this.#expand!(index) === name ? index : -1;
  }

  /** Adds a name; returns false (and changes nothing) when it is there already. */
  add(name: string): boolean {
    const slot = this.#slot(name);
    if (slot < 0) {
      if (this.#others.has(name)) return false;
      this.#others.add(name);
    } else if (!this.#slots.add(slot)) return false;
    this.#size++;
    return true;
  }

  /** Whether a name was added. */
  has(name: string): boolean {
    const slot = this.#slot(name);
    return slot < 0 ? this.#others.has(name) : this.#slots.has(slot);
  }
}
