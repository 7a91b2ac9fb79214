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
  /** The template's text before and after its one numeric field, `{ext}` filled in. */
  readonly #before: string = '';
  readonly #after: string = '';
  /** `{index}`: the zero-padded width; `{n}`: 0 (no padding). -1: no numeric template. */
  readonly #width: number = -1;
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
    // One numeric field and no unknown ones: then a name maps back to at most one index. (Several numeric
    // fields would need a search over untrusted names; such names are kept as strings.)
    if (numeric.length !== 1 || fields.some((f) => f !== '{index}' && f !== '{n}' && f !== '{ext}')) return;
    const at = t.indexOf(numeric[0]!);
    const fill = (part: string) => part.replace(/\{ext\}/g, extension);
    this.#before = fill(t.slice(0, at));
    this.#after = fill(t.slice(at + numeric[0]!.length));
    this.#width = numeric[0] === '{index}' ? Math.max(6, String(Math.max(0, count - 1)).length) : 0;
  }

  /** Names added. */
  get size(): number {
    return this.#size;
  }

  /** The index whose template name `name` is, or -1: the name is the text before the numeric field, the
   * index as the template writes it (zero-padded to the width, no other leading zero), the text after. */
  #slot(name: string): number {
    if (this.#width < 0 || name.length <= this.#before.length + this.#after.length) return -1;
    if (!name.startsWith(this.#before) || !name.endsWith(this.#after)) return -1;
    const digits = name.slice(this.#before.length, name.length - this.#after.length);
    if (digits.length > 16 || !/^[0-9]+$/.test(digits)) return -1;
    if (digits.length < this.#width || (digits.length > Math.max(1, this.#width) && digits[0] === '0')) return -1;
    const index = Number(digits);
    return Number.isSafeInteger(index) ? index : -1;
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
