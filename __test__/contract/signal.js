'use strict'
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { bytes, assertRecord } = require('../helpers/util')

function signedPreKey(keyId, extra = {}) {
  return {
    keyId,
    keyPair: { pubKey: bytes(33, keyId), privKey: bytes(32, keyId + 1) },
    signature: bytes(64, keyId + 2),
    ...extra
  }
}

module.exports = (h) => {
  describe('signal', () => {
    it('registration info: null, then set/get round-trip, then replace', async () => {
      const { s } = h.open()
      assert.equal(await s.signal.getRegistrationInfo(), null)
      const info = { registrationId: 777, identityKeyPair: { pubKey: bytes(33, 1), privKey: bytes(32, 2) } }
      await s.signal.setRegistrationInfo(info)
      assertRecord(await s.signal.getRegistrationInfo(), info)
      const next = { registrationId: 16380, identityKeyPair: { pubKey: bytes(33, 3), privKey: bytes(32, 4) } }
      await s.signal.setRegistrationInfo(next)
      assertRecord(await s.signal.getRegistrationInfo(), next)
    })

    it('signed prekey: null, set/get, uploaded flag kept', async () => {
      const { s } = h.open()
      assert.equal(await s.signal.getSignedPreKey(), null)
      assert.equal(await s.signal.getSignedPreKeyById(1), null)
      await s.signal.setSignedPreKey(signedPreKey(21, { uploaded: true }))
      const got = await s.signal.getSignedPreKey()
      assertRecord(got, signedPreKey(21, { uploaded: true }))
      assert.equal(got.uploaded, true)
    })

    it('signed prekey without `uploaded` does not come back uploaded', async () => {
      const { s } = h.open()
      await s.signal.setSignedPreKey(signedPreKey(3))
      const got = await s.signal.getSignedPreKey()
      assert.equal(got.keyId, 3)
      assert.notEqual(got.uploaded, true)
    })

    it('getSignedPreKeyById only returns the current signed prekey', async () => {
      const { s } = h.open()
      await s.signal.setSignedPreKey(signedPreKey(11))
      assertRecord(await s.signal.getSignedPreKeyById(11), signedPreKey(11))
      assert.equal(await s.signal.getSignedPreKeyById(12), null)
      await s.signal.setSignedPreKey(signedPreKey(12))
      assert.equal(await s.signal.getSignedPreKeyById(11), null, 'the replaced key is gone')
      assertRecord(await s.signal.getSignedPreKeyById(12), signedPreKey(12))
    })

    it('signed prekey with keyId 0 is found by id 0', async () => {
      const { s } = h.open()
      await s.signal.setSignedPreKey(signedPreKey(0))
      assertRecord(await s.signal.getSignedPreKeyById(0), signedPreKey(0))
    })

    it('rotation timestamp: null, set, set back to null', async () => {
      const { s } = h.open()
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), null)
      await s.signal.setSignedPreKeyRotationTs(1_751_808_692_123)
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), 1_751_808_692_123)
      await s.signal.setSignedPreKeyRotationTs(0)
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), 0)
      await s.signal.setSignedPreKeyRotationTs(null)
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), null)
    })

    it('the three values are independent of each other', async () => {
      const { s } = h.open()
      await s.signal.setSignedPreKeyRotationTs(5)
      assert.equal(await s.signal.getRegistrationInfo(), null)
      assert.equal(await s.signal.getSignedPreKey(), null)
      await s.signal.setSignedPreKey(signedPreKey(2))
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), 5)
      assert.equal(await s.signal.getRegistrationInfo(), null)
    })

    it('clear() resets registration info, signed prekey and rotation timestamp', async () => {
      const { s } = h.open()
      await s.signal.setRegistrationInfo({ registrationId: 1, identityKeyPair: { pubKey: bytes(33), privKey: bytes(32) } })
      await s.signal.setSignedPreKey(signedPreKey(4))
      await s.signal.setSignedPreKeyRotationTs(99)
      await s.signal.clear()
      assert.equal(await s.signal.getRegistrationInfo(), null)
      assert.equal(await s.signal.getSignedPreKey(), null)
      assert.equal(await s.signal.getSignedPreKeyById(4), null)
      assert.equal(await s.signal.getSignedPreKeyRotationTs(), null)
    })
  })
}
