'use strict'
// Shared helpers for the wastore test suite: error-code assertions, byte and
// record fixtures, and a normaliser for comparing plain records.

const assert = require('node:assert/strict')

let counter = 0
/** A session/record id that is unique within this process. */
function uid(label = 'id') {
  counter += 1
  return `${label}-${process.pid}-${counter}`
}

/** Deterministic bytes: `length` bytes starting at `seed`, wrapping at 256. */
function bytes(length, seed = 0) {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 1) out[i] = (seed + i * 7) & 0xff
  return out
}

function u8(...values) {
  return new Uint8Array(values)
}

function addr(user, device = 0, server = 's.whatsapp.net') {
  return { user, server, device }
}

function describeErr(err) {
  if (!(err instanceof Error)) return `non-Error ${typeof err}: ${String(err)}`
  return `${err.code ?? '(no code)'}: ${err.message}`
}

function checkCoded(err, code, mentions) {
  assert.ok(err instanceof Error, `expected an Error, got ${describeErr(err)}`)
  assert.equal(err.code, code, `expected code ${code}, got ${describeErr(err)}`)
  for (const m of mentions) {
    assert.ok(
      String(err.message).includes(m),
      `error message should mention "${m}", got: ${err.message}`
    )
  }
  return true
}

/**
 * Asserts that calling `fn` rejects (or throws synchronously) with `err.code === code`
 * and a message that contains every string in `mentions`.
 */
async function rejectsCode(fn, code, ...mentions) {
  await assert.rejects(async () => fn(), (err) => checkCoded(err, code, mentions))
}

/** Asserts that `fn` throws synchronously with `err.code === code`. */
function throwsCode(fn, code, ...mentions) {
  assert.throws(fn, (err) => checkCoded(err, code, mentions))
}

/**
 * Normalises a record for comparison: Buffers become plain Uint8Arrays,
 * keys whose value is `undefined` are dropped, recursively. Used for the
 * store's own record types (threads, contacts, ...) where an absent optional
 * field may come back either missing or `undefined`. Opaque values (sessions,
 * sender keys, credentials) are compared strictly instead.
 */
function norm(value) {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (value instanceof Map) {
    const out = new Map()
    for (const [k, v] of value) out.set(k, norm(v))
    return out
  }
  if (Array.isArray(value)) return value.map(norm)
  if (value && typeof value === 'object') {
    const out = {}
    for (const key of Object.keys(value)) {
      if (value[key] !== undefined) out[key] = norm(value[key])
    }
    return out
  }
  return value
}

function assertRecord(actual, expected, message) {
  assert.deepStrictEqual(norm(actual), norm(expected), message)
}

function assertBytes(actual, expected, message) {
  assert.ok(actual instanceof Uint8Array, `${message ?? 'value'}: expected a Uint8Array, got ${actual}`)
  assert.deepStrictEqual(new Uint8Array(actual), new Uint8Array(expected), message)
}

/** A Signal session record shaped like zapo's SignalSessionRecord (no crypto needed). */
function sessionRecord(seed = 0) {
  return {
    local: { regId: 100 + seed, pubKey: bytes(33, seed + 1) },
    remote: { regId: 200 + seed, pubKey: bytes(33, seed + 2) },
    rootKey: bytes(32, seed + 3),
    sendChain: {
      ratchetKey: { pubKey: bytes(33, seed + 4), privKey: bytes(32, seed + 5) },
      nextMsgIndex: seed,
      chainKey: bytes(32, seed + 6)
    },
    recvChains: [
      {
        senderRatchetKey: bytes(33, seed + 7),
        chainKey: { index: 4, key: bytes(32, seed + 8) },
        messageKeys: [
          { index: 1, cipherKey: bytes(32, 9), macKey: bytes(32, 10), iv: bytes(16, 11) },
          { index: 3, cipherKey: bytes(32, 12), macKey: bytes(32, 13), iv: bytes(16, 14) }
        ]
      }
    ],
    initialExchangeInfo:
      seed % 2 === 0
        ? { remoteOneTimeId: null, remoteSignedId: 7, localOneTimePubKey: bytes(33, seed + 15) }
        : null,
    prevSendChainHighestIndex: seed * 3,
    aliceBaseKey: seed % 2 === 0 ? bytes(33, seed + 16) : null,
    prevSessions: [
      { sessionVersion: 3, localIdentityPublic: Buffer.from(bytes(33, seed + 17)), pendingPreKey: undefined }
    ]
  }
}

/** A sender-key record shaped like zapo's SenderKeyRecord. */
function senderKeyRecord(groupId, sender, seed = 0) {
  return {
    groupId,
    sender,
    keyId: 10 + seed,
    iteration: seed,
    chainKey: bytes(32, seed + 1),
    signingPublicKey: bytes(33, seed + 2),
    signingPrivateKey: bytes(32, seed + 3),
    unusedMessageKeys: [
      { iteration: 0, seed: bytes(50, seed + 4) },
      { iteration: 1, seed: Buffer.from(bytes(50, seed + 5)) }
    ]
  }
}

/** Credentials shaped like zapo's WaAuthCredentials, with optional fields. */
function credentials(seed = 0) {
  return {
    noiseKeyPair: { pubKey: bytes(32, seed + 1), privKey: bytes(32, seed + 2) },
    registrationInfo: {
      registrationId: 12345 + seed,
      identityKeyPair: { pubKey: bytes(33, seed + 3), privKey: bytes(32, seed + 4) }
    },
    signedPreKey: {
      keyId: 9,
      keyPair: { pubKey: bytes(33, seed + 5), privKey: bytes(32, seed + 6) },
      signature: bytes(64, seed + 7),
      uploaded: false
    },
    advSecretKey: bytes(32, seed + 8),
    meJid: `55119${seed}@s.whatsapp.net`,
    meLid: `12345${seed}@lid`,
    meDisplayName: 'Zapo User ✓',
    companionEncStatic: Buffer.from([10, 11, 12]),
    platform: 'android',
    serverStaticKey: bytes(32, seed + 9),
    serverHasPreKeys: true,
    routingInfo: u8(16, 17),
    lastSuccessTs: 99_001,
    propsVersion: 7,
    abPropsVersion: 8,
    connectionLocation: 'br',
    accountCreationTs: 88_002,
    pairingCode: undefined
  }
}

/**
 * A value exercising every kind the stores must round-trip: nested objects and
 * arrays, Uint8Arrays (incl. a view with an offset), Buffers, ints, floats,
 * -0, NaN, infinities, booleans, null and `undefined` fields.
 */
function richValue() {
  const backing = bytes(64, 5)
  return {
    int: 42,
    negInt: -7,
    zero: 0,
    negZero: -0,
    float: 3.141592653589793,
    negFloat: -2.5e-10,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    unsafeInt: 2 ** 53 + 2,
    huge: 1e300,
    tiny: 5e-324,
    inf: Infinity,
    negInf: -Infinity,
    nan: NaN,
    yes: true,
    no: false,
    nothing: null,
    missing: undefined,
    empty: '',
    text: 'héllo 世界 😀👍🏽 \u0000 nul \n\t "quoted" \'single\'',
    u8: u8(0, 1, 127, 128, 255),
    emptyU8: new Uint8Array(0),
    view: new Uint8Array(backing.buffer, 3, 5),
    buf: Buffer.from('a buffer'),
    emptyBuf: Buffer.alloc(0),
    bigBytes: bytes(64 * 1024, 3),
    list: [1, 'two', null, undefined, false, [u8(3)], { nested: true }, Buffer.from([9])],
    emptyList: [],
    emptyObj: {},
    deep: { a: { b: { c: { d: [{ e: Buffer.from([1, 2]), f: [[[-0]]] }] } } } },
    'key with spaces': 1,
    '': 'empty key',
    'ünïcødé-🔑': 2,
    123: 'numeric key'
  }
}

module.exports = {
  uid,
  bytes,
  u8,
  addr,
  rejectsCode,
  throwsCode,
  norm,
  assertRecord,
  assertBytes,
  sessionRecord,
  senderKeyRecord,
  credentials,
  richValue
}
