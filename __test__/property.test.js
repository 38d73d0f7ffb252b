'use strict'
// Seeded property test: random nested values round-trip deep-equal through the
// WSV codec and through every backend (auth, session and senderKey records).
//
//   WASTORE_PROPERTY_SEED=1234 node --test __test__/property.test.js   # replay a run
//   WASTORE_PROPERTY_CASES=1000 ...                                    # more cases
const assert = require('node:assert/strict')
const { describe, it, before, after } = require('node:test')

const { createStore, encodeValue, decodeValue } = require('..')
const { factories } = require('./helpers/backends')

const SEED = process.env.WASTORE_PROPERTY_SEED ? Number(process.env.WASTORE_PROPERTY_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0
const CASES = Number(process.env.WASTORE_PROPERTY_CASES || 200)
const CASE_BYTE_BUDGET = 1536 * 1024
const REPLAY = `replay with WASTORE_PROPERTY_SEED=${SEED}`

/** mulberry32: a tiny, fast, seedable 32-bit PRNG. */
function mulberry32(seed) {
  let a = seed >>> 0
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function makeGen(rng) {
  const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1))
  const pick = (list) => list[int(0, list.length - 1)]
  const chance = (p) => rng() < p

  function codePoint() {
    switch (int(0, 5)) {
      case 0:
        return int(0x20, 0x7e)
      case 1:
        return pick([0, 9, 10, 13, 0x22, 0x27, 0x5c, 0x25, 0x5f])
      case 2:
        return int(0x80, 0x7ff)
      case 3: {
        const cp = int(0x800, 0xfffd)
        return cp >= 0xd800 && cp <= 0xdfff ? 0x4e2d : cp
      }
      case 4:
        return int(0x1f300, 0x1faff)
      default:
        return int(0x10000, 0x10ffff)
    }
  }
  function string(maxLen = 24) {
    const n = chance(0.1) ? 0 : int(1, maxLen)
    let out = ''
    for (let i = 0; i < n; i += 1) out += String.fromCodePoint(codePoint())
    return out
  }
  function number() {
    switch (int(0, 7)) {
      case 0:
        return int(-1000, 1000)
      case 1:
        return int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      case 2:
        return pick([0, -0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, -(2 ** 53) - 2, Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON])
      case 3:
        return (rng() - 0.5) * 10 ** int(-20, 20)
      case 4:
        return int(0, 2 ** 32 - 1)
      default: {
        // any bit pattern: subnormals, huge exponents, NaN payloads
        const words = new Uint32Array([int(0, 2 ** 32 - 1), int(0, 2 ** 32 - 1)])
        return new Float64Array(words.buffer)[0]
      }
    }
  }
  function byteLength(budget) {
    const r = rng()
    let n
    if (r < 0.6) n = int(0, 64)
    else if (r < 0.9) n = int(65, 4096)
    else if (r < 0.985) n = int(4097, 128 * 1024)
    else n = int(128 * 1024, 1024 * 1024)
    return Math.min(n, Math.max(0, budget.left))
  }
  function byteArray(budget) {
    const n = byteLength(budget)
    budget.left -= n
    const asBuffer = chance(0.3)
    const out = asBuffer ? Buffer.allocUnsafe(n) : new Uint8Array(n)
    for (let i = 0; i < n; i += 1) out[i] = (rng() * 256) | 0
    if (!asBuffer && n > 8 && chance(0.2)) {
      // a view with an offset into a bigger buffer
      const backing = new Uint8Array(n + 16)
      backing.set(out, 7)
      return backing.subarray(7, 7 + n)
    }
    return out
  }
  function key() {
    switch (int(0, 6)) {
      case 0:
        return String(int(0, 1000))
      case 1:
        return ''
      case 2:
        return pick(['constructor', 'toString', 'hasOwnProperty', 'length', 'then'])
      default:
        return string(12)
    }
  }
  function object(depth, budget) {
    const out = {}
    const n = int(0, depth > 3 ? 3 : 8)
    for (let i = 0; i < n; i += 1) out[key()] = value(depth + 1, budget)
    return out
  }
  function value(depth, budget) {
    const leafOnly = depth >= 6
    const r = int(0, leafOnly ? 6 : 9)
    switch (r) {
      case 0:
        return undefined
      case 1:
        return null
      case 2:
        return chance(0.5)
      case 3:
      case 4:
        return number()
      case 5:
        return string()
      case 6:
        return byteArray(budget)
      case 7: {
        const n = int(0, depth > 3 ? 3 : 8)
        return Array.from({ length: n }, () => value(depth + 1, budget))
      }
      default:
        return object(depth, budget)
    }
  }
  /** A top-level object (what auth/session/senderKey store). */
  function topLevel() {
    const budget = { left: CASE_BYTE_BUDGET }
    return object(0, budget)
  }
  return { topLevel, int }
}

/** Where two values first differ, for readable failures. */
function firstDifference(a, b, path = '$') {
  if (Object.is(a, b)) return null
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return `${path}: bytes vs non-bytes`
    if (Buffer.isBuffer(a) !== Buffer.isBuffer(b)) return `${path}: Buffer ${Buffer.isBuffer(a)} vs ${Buffer.isBuffer(b)}`
    if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`
    const i = a.findIndex((x, j) => x !== b[j])
    return i < 0 ? null : `${path}[${i}]: ${a[i]} vs ${b[i]}`
  }
  if (a && b && typeof a === 'object') {
    if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    if (ka.length !== kb.length) return `${path}: keys [${ka}] vs [${kb}]`
    for (const k of ka) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) return `${path}: missing key ${JSON.stringify(k)}`
      const d = firstDifference(a[k], b[k], `${path}[${JSON.stringify(k)}]`)
      if (d) return d
    }
    return null
  }
  return `${path}: ${String(a)} vs ${String(b)}`
}

function assertSame(actual, expected, what) {
  try {
    assert.deepStrictEqual(actual, expected)
  } catch (err) {
    const where = firstDifference(actual, expected)
    throw new assert.AssertionError({ message: `${what}: differs at ${where} (${REPLAY})`, actual: where, expected: null })
  }
}

describe(`property: random values round-trip (seed ${SEED}, ${CASES} cases)`, { timeout: 120_000 }, () => {
  let cases

  before(() => {
    const rng = mulberry32(SEED)
    const gen = makeGen(rng)
    cases = Array.from({ length: CASES }, () => gen.topLevel())
  })

  it('encodeValue / decodeValue', (t) => {
    t.diagnostic(`seed ${SEED}: ${REPLAY}`)
    for (let i = 0; i < cases.length; i += 1) assertSame(decodeValue(encodeValue(cases[i])), cases[i], `case ${i}`)
  })

  it('mutated encodings decode or throw STORE_CORRUPTED, never anything else', () => {
    const rng = mulberry32(SEED ^ 0x9e3779b9)
    const failures = []
    for (let i = 0; i < cases.length; i += 1) {
      const encoded = encodeValue(cases[i])
      if (encoded.length > 64 * 1024) continue
      for (let round = 0; round < 5; round += 1) {
        const bytes = new Uint8Array(encoded)
        const flips = 1 + Math.floor(rng() * 3)
        for (let f = 0; f < flips; f += 1) bytes[Math.floor(rng() * bytes.length)] = Math.floor(rng() * 256)
        const cut = rng() < 0.3 ? Math.floor(rng() * bytes.length) : bytes.length
        try {
          decodeValue(bytes.subarray(0, cut))
        } catch (err) {
          if (err.code !== 'STORE_CORRUPTED') failures.push(`case ${i} round ${round}: ${err.code} ${err.message}`)
        }
      }
    }
    assert.deepEqual(failures, [], REPLAY)
  })

  for (const factory of factories()) {
    describe(`backend ${factory.name}`, () => {
      let store
      let s
      before(async () => {
        if (factory.setup) await factory.setup()
        store = createStore(factory.make().options)
        s = store.session(`property-${SEED}`)
      })
      after(async () => {
        if (store) await store.destroy()
        if (factory.teardown) await factory.teardown()
      })

      it('auth.save / auth.load', async () => {
        for (let i = 0; i < cases.length; i += 1) {
          await s.auth.save(cases[i])
          assertSame(await s.auth.load(), cases[i], `${factory.name} auth case ${i}`)
        }
      })

      it('session.setSession / session.getSession (all records kept side by side)', async () => {
        const address = (i) => ({ user: `user-${i}`, server: i % 2 ? 'lid' : 's.whatsapp.net', device: i % 5 })
        for (let i = 0; i < cases.length; i += 1) {
          await s.session.setSession(address(i), cases[i])
          assertSame(await s.session.getSession(address(i)), cases[i], `${factory.name} session case ${i}`)
        }
        for (let start = 0; start < cases.length; start += 25) {
          const idx = Array.from({ length: Math.min(25, cases.length - start) }, (_, j) => start + j)
          const got = await s.session.getSessionsBatch(idx.map(address))
          idx.forEach((i, j) => assertSame(got[j], cases[i], `${factory.name} session batch re-read case ${i}`))
        }
      })

      it('senderKey.upsertSenderKey / getDeviceSenderKey', async () => {
        for (let i = 0; i < cases.length; i += 1) {
          const sender = { user: `sender-${i % 7}`, server: 's.whatsapp.net', device: i % 3 }
          const record = { ...cases[i], groupId: `group-${i % 11}@g.us`, sender }
          await s.senderKey.upsertSenderKey(record)
          assertSame(await s.senderKey.getDeviceSenderKey(record.groupId, sender), record, `${factory.name} senderKey case ${i}`)
        }
      })
    })
  }
})
