import t from 'tap';
import {
  validateInteger,
  optionalInteger,
  validateNumber,
  validateBoolean,
  optionalBoolean,
  validateOneOf,
  validateString,
  validateSignal,
  validateFunction,
  validateOptionsObject,
} from '../lib/validators.js';

function rejects(t: Tap.Test, fn: () => unknown, type: ErrorConstructor, parameter: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  t.type(caught, type, `${parameter} throws a ${type.name}`);
  t.match(caught, { code: 'ERR_DGEN_INVALID_OPTION', parameter, message }, `${parameter}: ${message}`);
}

t.test('whole numbers', async (t) => {
  t.equal(validateInteger('n', 5, { min: 1, max: 9 }), 5);
  t.equal(optionalInteger('n', undefined, 7), 7);
  rejects(
    t,
    () => validateInteger('concurrency', '4'),
    TypeError,
    'concurrency',
    /^concurrency must be a whole number >= 0; got "4"$/,
  );
  rejects(
    t,
    () => validateInteger('queueDepth', 999, { min: 1, max: 64 }),
    RangeError,
    'queueDepth',
    /^queueDepth must be a whole number from 1 to 64; got 999$/,
  );
  rejects(
    t,
    () => validateInteger('retryBaseMs', -5, { unit: ' ms' }),
    RangeError,
    'retryBaseMs',
    /whole number ms >= 0; got -5$/,
  );
  rejects(t, () => validateInteger('n', 1.5), RangeError, 'n', /got 1\.5$/);
  rejects(t, () => validateInteger('n', NaN), RangeError, 'n', /got NaN$/);
  t.throws(() => validateInteger('size', -1, { code: 'ERR_DGEN_INVALID_SIZE' }), { code: 'ERR_DGEN_INVALID_SIZE' });
});

t.test('numbers, booleans, sets, strings', async (t) => {
  t.equal(validateNumber('rate', 0.5, 0, 1), 0.5);
  rejects(t, () => validateNumber('rate', Infinity, 0, Infinity), RangeError, 'rate', /got Infinity$/);
  t.equal(validateBoolean('failFast', false), false);
  t.equal(optionalBoolean('failFast', undefined, true), true);
  rejects(t, () => validateBoolean('failFast', 'yes'), TypeError, 'failFast', /^failFast must be true or false; got "yes"$/);
  t.equal(validateOneOf('hash', 'sha256', ['xxh3', 'sha256'] as const), 'sha256');
  rejects(
    t,
    () => validateOneOf('hash', 'md5', ['xxh3', 'sha256'] as const),
    RangeError,
    'hash',
    /one of "xxh3", "sha256"; got "md5"$/,
  );
  rejects(t, () => validateOneOf('hash', 5, ['xxh3'] as const), TypeError, 'hash', /got 5$/);
  t.equal(validateString('bucket', 'b'), 'b');
  rejects(t, () => validateString('bucket', ''), TypeError, 'bucket', /got ""$/);
});

t.test('signals, functions, options objects', async (t) => {
  const ac = new AbortController();
  t.equal(validateSignal(ac.signal), ac.signal);
  t.equal(validateSignal(undefined), undefined);
  rejects(
    t,
    () => validateSignal({ aborted: false }),
    TypeError,
    'signal',
    /^signal must be an AbortSignal; got \[object Object\]$/,
  );
  const f = () => 1;
  t.equal(validateFunction('onProgress', f), f);
  rejects(t, () => validateFunction('onProgress', 'x'), TypeError, 'onProgress', /a function/);
  t.same(validateOptionsObject('options', undefined), {});
  rejects(
    t,
    () => validateOptionsObject('options', 4096 as unknown as object),
    TypeError,
    'options',
    /an options object; got 4096$/,
  );
  rejects(t, () => validateOptionsObject('options', null as unknown as object), TypeError, 'options', /got null$/);
});
