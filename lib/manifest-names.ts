/**
 * The set of object names a manifest lists, in memory that does not grow with a standard run: two
 * records must not name the same object, and `verify` asks of every file under the target whether the
 * manifest lists it.
 *
 * A run names its objects by a template (`obj-{index}.bin{ext}`), so most names are the template's text
 * before its numeric field, a run of L digits, and the text after. Such a name is kept as one bit: bit
 * `Number(digits)` of a sparse bitmap for length L (pages of 32,768 bits, allocated when touched; a run
 * of 10^6 objects costs 125 KiB). Digits of one length and their number determine each other, so this is
 * exact whatever the padding (`obj-000007.bin` and `obj-0000007.bin` are two names). Names of another
 * shape (a template with several numeric fields, names a manifest was edited to hold) are kept as strings.
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
  /** Whether the template has exactly one numeric field (else every name is kept as a string). */
  readonly #numeric: boolean = false;
  /** Bitmaps by the number of digits. */
  readonly #slots = new Map<number, SparseBitmap>();
  readonly #others = new Set<string>();
  #size = 0;

  /**
   * @param template - the manifest's `nameTemplate` (default `obj-{index}.bin{ext}`): `{index}` or `{n}`
   *   the index (zero-padded or not), `{ext}` the compression's extension.
   * @param extension - `''`, `.zst` or `.gz`.
   */
  constructor(template: string | undefined, extension: string) {
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
    this.#numeric = true;
  }

  /** Names added. */
  get size(): number {
    return this.#size;
  }

  /** The bitmap and bit of a name of the template's shape (see the module documentation), or undefined. */
  #slot(name: string, create: boolean): { bits: SparseBitmap | undefined; index: number } | undefined {
    if (!this.#numeric || name.length <= this.#before.length + this.#after.length) return undefined;
    if (!name.startsWith(this.#before) || !name.endsWith(this.#after)) return undefined;
    const digits = name.slice(this.#before.length, name.length - this.#after.length);
    if (digits.length > 15 || !/^[0-9]+$/.test(digits)) return undefined; // 15 digits: always a safe integer
    let bits = this.#slots.get(digits.length);
    if (!bits && create) this.#slots.set(digits.length, (bits = new SparseBitmap()));
    return { bits, index: Number(digits) };
  }

  /** Adds a name; returns false (and changes nothing) when it is there already. */
  add(name: string): boolean {
    const slot = this.#slot(name, true);
    if (slot === undefined) {
      if (this.#others.has(name)) return false;
      this.#others.add(name);
    } else if (!slot.bits!.add(slot.index)) return false;
    this.#size++;
    return true;
  }

  /** Whether a name was added. */
  has(name: string): boolean {
    const slot = this.#slot(name, false);
    if (slot === undefined) return this.#others.has(name);
    return slot.bits?.has(slot.index) === true;
  }
}
