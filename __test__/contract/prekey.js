'use strict'
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { bytes, assertBytes, rejectsCode } = require('../helpers/util')

function preKey(keyId, uploaded) {
  const rec = { keyId, keyPair: { pubKey: bytes(33, keyId), privKey: bytes(32, keyId + 1) } }
  if (uploaded !== undefined) rec.uploaded = uploaded
  return rec
}

function assertPreKey(actual, keyId, message = `prekey ${keyId}`) {
  assert.ok(actual, `${message}: expected a record, got ${actual}`)
  assert.equal(actual.keyId, keyId, message)
  assertBytes(actual.keyPair.pubKey, bytes(33, keyId), `${message} pubKey`)
  assertBytes(actual.keyPair.privKey, bytes(32, keyId + 1), `${message} privKey`)
}

/** A generator that records the ids it was asked for. */
function recordingGenerator() {
  const calls = []
  const gen = (keyId) => {
    calls.push(keyId)
    return preKey(keyId, false)
  }
  gen.calls = calls
  return gen
}

const ids = (records) => records.map((r) => r.keyId)

module.exports = (h) => {
  describe('preKey', () => {
    it('starts empty: no keys, server flag false', async () => {
      const { s } = h.open()
      assert.equal(await s.preKey.getPreKeyById(1), null)
      assert.deepEqual(await s.preKey.getPreKeysById([]), [])
      assert.equal(await s.preKey.getServerHasPreKeys(), false)
      assert.equal(await s.preKey.consumePreKeyById(1), null)
    })

    it('putPreKey / getPreKeyById round-trip', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(5, false))
      assertPreKey(await s.preKey.getPreKeyById(5), 5)
      assert.equal(await s.preKey.getPreKeyById(4), null)
    })

    it('putPreKey on an existing id replaces it', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(5, false))
      const replacement = { keyId: 5, keyPair: { pubKey: bytes(33, 200), privKey: bytes(32, 201) }, uploaded: false }
      await s.preKey.putPreKey(replacement)
      const got = await s.preKey.getPreKeyById(5)
      assertBytes(got.keyPair.pubKey, bytes(33, 200))
      assertBytes(got.keyPair.privKey, bytes(32, 201))
    })

    it('getOrGenPreKeys on an empty store asks the generator for ids 1..n in order', async () => {
      const { s } = h.open()
      const gen = recordingGenerator()
      const keys = await s.preKey.getOrGenPreKeys(3, gen)
      assert.deepEqual(gen.calls, [1, 2, 3])
      assert.deepEqual(ids(keys), [1, 2, 3])
      for (const id of [1, 2, 3]) assertPreKey(await s.preKey.getPreKeyById(id), id, 'generated keys are stored')
    })

    it('getOrGenPreKeys returns available (not uploaded) keys first, lowest id first', async () => {
      const { s } = h.open()
      for (const id of [9, 3, 7]) await s.preKey.putPreKey(preKey(id, false))
      const gen = recordingGenerator()
      assert.deepEqual(ids(await s.preKey.getOrGenPreKeys(2, gen)), [3, 7])
      assert.deepEqual(gen.calls, [], 'no generation while enough keys are available')
      const five = await s.preKey.getOrGenPreKeys(5, gen)
      assert.deepEqual(ids(five), [3, 7, 9, 10, 11])
      assert.deepEqual(gen.calls, [10, 11], 'fresh ids continue after the highest stored id')
      assertPreKey(five[0], 3)
    })

    it('putPreKey raises the id counter, never lowers it', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(20, true))
      await s.preKey.putPreKey(preKey(2, true))
      const gen = recordingGenerator()
      const [single] = await s.preKey.getOrGenPreKeys(1, gen)
      assert.deepEqual(gen.calls, [21])
      assert.equal(single.keyId, 21)
    })

    it('uploaded keys are skipped; markKeyAsUploaded marks every id <= keyId', async () => {
      const { s } = h.open()
      await s.preKey.getOrGenPreKeys(3, recordingGenerator())
      await s.preKey.markKeyAsUploaded(2)
      assert.equal((await s.preKey.getPreKeyById(1)).uploaded, true)
      assert.equal((await s.preKey.getPreKeyById(2)).uploaded, true)
      assert.notEqual((await s.preKey.getPreKeyById(3)).uploaded, true)
      const gen = recordingGenerator()
      assert.deepEqual(ids(await s.preKey.getOrGenPreKeys(2, gen)), [3, 4])
      assert.deepEqual(gen.calls, [4])
    })

    it('a key put with uploaded: true is not handed out again', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(1, true))
      await s.preKey.putPreKey(preKey(2, false))
      const gen = recordingGenerator()
      assert.deepEqual(ids(await s.preKey.getOrGenPreKeys(2, gen)), [2, 3])
      assert.deepEqual(gen.calls, [3])
    })

    it('an async generator is awaited', async () => {
      const { s } = h.open()
      const keys = await s.preKey.getOrGenPreKeys(2, async (keyId) => {
        await new Promise((resolve) => setImmediate(resolve))
        return preKey(keyId, false)
      })
      assert.deepEqual(ids(keys), [1, 2])
      assertPreKey(keys[1], 2)
    })

    it('a generator that throws rejects with that very error; the store stays usable', async () => {
      const { s } = h.open()
      const boom = Object.assign(new Error('generator exploded'), { marker: 42 })
      await assert.rejects(
        s.preKey.getOrGenPreKeys(2, () => {
          throw boom
        }),
        (err) => {
          assert.equal(err.message, 'generator exploded')
          assert.equal(err.marker, 42)
          return true
        }
      )
      const later = await s.preKey.getOrGenPreKeys(2, recordingGenerator())
      assert.equal(later.length, 2)
      assert.notEqual(later[0].keyId, later[1].keyId)
    })

    it('a generator whose promise rejects propagates the rejection', async () => {
      const { s } = h.open()
      const boom = Object.assign(new Error('async generator exploded'), { marker: 'x' })
      await assert.rejects(
        s.preKey.getOrGenPreKeys(1, async () => {
          throw boom
        }),
        (err) => err.message === 'async generator exploded' && err.marker === 'x'
      )
    })

    it('a generator that returns a record with another keyId rejects', async () => {
      const { s } = h.open()
      await assert.rejects(s.preKey.getOrGenPreKeys(1, (keyId) => preKey(keyId + 100, false)))
    })

    it('a generator that returns an already-stored keyId rejects instead of looping (no progress)', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(4242, false))
      await s.preKey.markKeyAsUploaded(4242)
      const colliding = { keyId: 4242, keyPair: { pubKey: bytes(33, 99), privKey: bytes(32, 98) }, uploaded: false }
      await assert.rejects(s.preKey.getOrGenSinglePreKey(() => colliding))
      const kept = await s.preKey.getPreKeyById(4242)
      assertPreKey(kept, 4242, 'the stored key is not overwritten by the colliding one')
    })

    it('a generator that returns something that is not a prekey record rejects', async () => {
      const { s } = h.open()
      await assert.rejects(s.preKey.getOrGenPreKeys(1, () => null))
      await assert.rejects(s.preKey.getOrGenPreKeys(1, () => 42))
      await assert.rejects(s.preKey.getOrGenPreKeys(1, (keyId) => ({ keyId })))
    })

    it('an invalid count rejects with STORE_INVALID_ARGUMENT and never calls the generator', async () => {
      const { s } = h.open()
      const gen = recordingGenerator()
      for (const count of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '2', undefined, null]) {
        await rejectsCode(() => s.preKey.getOrGenPreKeys(count, gen), 'STORE_INVALID_ARGUMENT')
      }
      assert.deepEqual(gen.calls, [])
    })

    it('a generator that is not a function rejects with STORE_INVALID_ARGUMENT', async () => {
      const { s } = h.open()
      await rejectsCode(() => s.preKey.getOrGenPreKeys(1, undefined), 'STORE_INVALID_ARGUMENT')
      await rejectsCode(() => s.preKey.getOrGenPreKeys(1, { keyId: 1 }), 'STORE_INVALID_ARGUMENT')
      await rejectsCode(() => s.preKey.getOrGenSinglePreKey('gen'), 'STORE_INVALID_ARGUMENT')
    })

    it('getOrGenSinglePreKey returns the lowest available key, else a generated one', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(8, false))
      await s.preKey.putPreKey(preKey(6, false))
      const gen = recordingGenerator()
      assertPreKey(await s.preKey.getOrGenSinglePreKey(gen), 6)
      await s.preKey.markKeyAsUploaded(8)
      const fresh = await s.preKey.getOrGenSinglePreKey(gen)
      assert.deepEqual(gen.calls, [9])
      assertPreKey(fresh, 9)
    })

    it('getPreKeysById is positional: order, duplicates and nulls for misses', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(1, false))
      await s.preKey.putPreKey(preKey(3, false))
      const got = await s.preKey.getPreKeysById([3, 2, 1, 3, 999])
      assert.equal(got.length, 5)
      assertPreKey(got[0], 3)
      assert.equal(got[1], null)
      assertPreKey(got[2], 1)
      assertPreKey(got[3], 3)
      assert.equal(got[4], null)
    })

    it('consumePreKeyById returns the key once, then null; ids are not reused', async () => {
      const { s } = h.open()
      await s.preKey.getOrGenPreKeys(2, recordingGenerator())
      assertPreKey(await s.preKey.consumePreKeyById(2), 2)
      assert.equal(await s.preKey.consumePreKeyById(2), null)
      assert.equal(await s.preKey.getPreKeyById(2), null)
      const gen = recordingGenerator()
      assert.deepEqual(ids(await s.preKey.getOrGenPreKeys(2, gen)), [1, 3])
      assert.deepEqual(gen.calls, [3], 'the counter is not moved back by a consume')
    })

    it('concurrent consumes of one id hand the key to exactly one caller', async () => {
      const { s } = h.open()
      await s.preKey.putPreKey(preKey(7, false))
      await s.preKey.putPreKey(preKey(8, false))
      const results = await Promise.all(Array.from({ length: 40 }, () => s.preKey.consumePreKeyById(7)))
      const winners = results.filter((r) => r !== null)
      assert.equal(winners.length, 1, `exactly one consume wins, got ${winners.length}`)
      assertPreKey(winners[0], 7)
      assertPreKey(await s.preKey.getPreKeyById(8), 8, 'other keys untouched')
    })

    it('markKeyAsUploaded rejects ids < 0 and ids >= the next id', async () => {
      const { s } = h.open()
      await rejectsCode(() => s.preKey.markKeyAsUploaded(1), 'STORE_INVALID_ARGUMENT')
      await s.preKey.markKeyAsUploaded(0)
      await s.preKey.putPreKey(preKey(1, false))
      await rejectsCode(() => s.preKey.markKeyAsUploaded(-1), 'STORE_INVALID_ARGUMENT')
      await rejectsCode(() => s.preKey.markKeyAsUploaded(2), 'STORE_INVALID_ARGUMENT')
      await rejectsCode(() => s.preKey.markKeyAsUploaded(9_999), 'STORE_INVALID_ARGUMENT')
      await s.preKey.markKeyAsUploaded(1)
      assert.equal((await s.preKey.getPreKeyById(1)).uploaded, true)
    })

    it('server-has-prekeys flag round-trips', async () => {
      const { s } = h.open()
      await s.preKey.setServerHasPreKeys(true)
      assert.equal(await s.preKey.getServerHasPreKeys(), true)
      await s.preKey.setServerHasPreKeys(false)
      assert.equal(await s.preKey.getServerHasPreKeys(), false)
    })

    it('clear() removes keys, resets the counter to 1 and the flag to false', async () => {
      const { s } = h.open()
      await s.preKey.getOrGenPreKeys(3, recordingGenerator())
      await s.preKey.putPreKey(preKey(50, false))
      await s.preKey.setServerHasPreKeys(true)
      await s.preKey.clear()
      assert.equal(await s.preKey.getPreKeyById(1), null)
      assert.equal(await s.preKey.getPreKeyById(50), null)
      assert.equal(await s.preKey.getServerHasPreKeys(), false)
      const gen = recordingGenerator()
      await s.preKey.getOrGenPreKeys(1, gen)
      assert.deepEqual(gen.calls, [1])
    })

    it('overlapping getOrGenPreKeys calls on one session keep ids unique and monotonic', async () => {
      const { s } = h.open()
      const slow = async (keyId) => {
        await new Promise((resolve) => setTimeout(resolve, 2))
        return preKey(keyId, false)
      }
      await Promise.all([s.preKey.getOrGenPreKeys(3, slow), s.preKey.getOrGenPreKeys(3, slow)])
      const six = await s.preKey.getOrGenPreKeys(6, slow)
      assert.deepEqual(
        ids(six).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6]
      )
    })
  })
}
