'use strict'
// encodeValue / decodeValue: the WSV codec (magic 0xA5, version 1; see src/codec.rs).
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { encodeValue, decodeValue } = require('..')
const { richValue, sessionRecord, credentials, throwsCode, rejectsCode } = require('./helpers/util')

const roundTrip = (value) => decodeValue(encodeValue(value))

describe('WSV codec', () => {
  it('encodeValue returns a Uint8Array that starts with the magic and version bytes', () => {
    const bytes = encodeValue({ a: 1 })
    assert.ok(bytes instanceof Uint8Array)
    assert.equal(bytes[0], 0xa5, 'magic byte')
    assert.equal(bytes[1], 0x01, 'version byte')
  })

  it('round-trips every supported value kind deep-equal', () => {
    for (const value of [richValue(), sessionRecord(1), credentials(2)]) assert.deepStrictEqual(roundTrip(value), value)
  })

  it('round-trips top-level scalars and empty containers', () => {
    for (const value of [null, undefined, true, false, 0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, '', 'x', [], {}, new Uint8Array(0), Buffer.alloc(0)]) {
      const got = roundTrip(value)
      assert.deepStrictEqual(got, value, `value ${String(value)}`)
      assert.ok(Object.is(got, value) || typeof value === 'object', `identity-equal scalar ${String(value)}`)
    }
  })

  it('keeps Buffer and Uint8Array apart', () => {
    const got = roundTrip({ b: Buffer.from([1, 2]), u: new Uint8Array([1, 2]) })
    assert.ok(Buffer.isBuffer(got.b))
    assert.ok(!Buffer.isBuffer(got.u) && got.u instanceof Uint8Array)
  })

  it('integers and floats at the edges keep their exact value', () => {
    const edges = [
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 53,
      -(2 ** 53),
      2 ** 53 + 2,
      2 ** 63,
      2 ** 64,
      1e308,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.EPSILON,
      0.1 + 0.2,
      -1.5,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32
    ]
    for (const n of edges) assert.ok(Object.is(roundTrip(n), n), `${n}`)
    assert.ok(Object.is(roundTrip(-0), -0))
  })

  it('strings keep every code point, including NUL and astral characters', () => {
    const s = 'a\u0000b\u00ff\u0100\u07ff\u0800\uffff\u{10000}\u{10ffff}😀👍🏽 中文 \r\n\t'
    assert.equal(roundTrip(s), s)
    assert.equal(roundTrip('x'.repeat(1 << 20)).length, 1 << 20)
  })

  it('object keys of every shape survive (empty, numeric, unicode, __proto__)', () => {
    const value = JSON.parse('{"": 1, "0": 2, "10": 3, "ünï 😀": 4, "__proto__": {"x": 5}, "constructor": 6}')
    const got = roundTrip(value)
    assert.deepStrictEqual(got, value)
    assert.equal(Object.getPrototypeOf(got), Object.prototype)
    assert.equal({}.x, undefined)
  })

  it('a Uint8Array view encodes only its own bytes', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9])
    assert.deepStrictEqual(roundTrip(backing.subarray(2, 5)), new Uint8Array([1, 2, 3]))
  })

  it('encoding is deterministic for the same value', () => {
    assert.deepStrictEqual(encodeValue(sessionRecord(3)), encodeValue(sessionRecord(3)))
  })

  it('decodeValue accepts a Buffer as input too', () => {
    assert.deepStrictEqual(decodeValue(Buffer.from(encodeValue({ a: [1] }))), { a: [1] })
  })

  it('functions, symbols and cyclic values cannot be encoded (STORE_INVALID_ARGUMENT)', () => {
    const cyclic = {}
    cyclic.self = cyclic
    for (const bad of [() => 1, { f() {} }, Symbol('s'), { s: Symbol('s') }, cyclic]) {
      throwsCode(() => encodeValue(bad), 'STORE_INVALID_ARGUMENT')
    }
  })

  it('bad bytes throw STORE_CORRUPTED: empty, wrong magic, unknown version, unknown tag, truncated', () => {
    const good = encodeValue(richValue())
    const cases = [
      ['empty', new Uint8Array(0)],
      ['magic only', new Uint8Array([0xa5])],
      ['wrong magic', new Uint8Array([0x00, 0x01, 0x01])],
      ['unknown version', new Uint8Array([0xa5, 0x7f, 0x01])],
      ['no value', new Uint8Array([0xa5, 0x01])],
      ['unknown tag', new Uint8Array([0xa5, 0x01, 0xee])],
      ['string length past the end', new Uint8Array([0xa5, 0x01, 0x06, 0x10, 0x61])],
      ['huge declared length', new Uint8Array([0xa5, 0x01, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])],
      ['huge array count', new Uint8Array([0xa5, 0x01, 0x09, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['unterminated varint', new Uint8Array([0xa5, 0x01, 0x04, 0xff, 0xff])],
      ['invalid utf-8', new Uint8Array([0xa5, 0x01, 0x06, 0x02, 0xc3, 0x28])],
      ['truncated rich value', good.subarray(0, good.length - 1)]
    ]
    for (const [label, bytes] of cases) throwsCode(() => decodeValue(bytes), 'STORE_CORRUPTED')
  })

  it('every proper prefix of an encoding is rejected with STORE_CORRUPTED', () => {
    const good = encodeValue(sessionRecord(5))
    const failures = []
    for (let end = 0; end < good.length; end += 1) {
      try {
        decodeValue(good.subarray(0, end))
        failures.push(`${end}: decoded`)
      } catch (err) {
        if (err.code !== 'STORE_CORRUPTED') failures.push(`${end}: ${err.code} ${err.message}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  it('absurdly deep nesting is refused on decode without crashing', () => {
    const depth = 100_000
    const bytes = new Uint8Array(2 + depth * 2 + 1)
    bytes[0] = 0xa5
    bytes[1] = 0x01
    for (let i = 0; i < depth; i += 1) {
      bytes[2 + i * 2] = 0x09
      bytes[3 + i * 2] = 0x01
    }
    bytes[bytes.length - 1] = 0x01
    throwsCode(() => decodeValue(bytes), 'STORE_CORRUPTED')
  })

  it('decodeValue with something that is not bytes throws STORE_INVALID_ARGUMENT', async () => {
    for (const bad of ['a5 01', 42, undefined, null, [0xa5, 1, 1], {}]) {
      await rejectsCode(() => decodeValue(bad), 'STORE_INVALID_ARGUMENT')
    }
  })
})
