'use strict'
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { bytes, u8, assertBytes, assertRecord } = require('../helpers/util')

/** An app-state key id: device id in bytes 0..1, epoch in bytes 2..5 (big-endian), then padding. */
function keyId(deviceId, epoch, extra = 2) {
  const id = new Uint8Array(6 + extra)
  id[0] = (deviceId >> 8) & 0xff
  id[1] = deviceId & 0xff
  new DataView(id.buffer).setUint32(2, epoch, false)
  return id
}

function syncKey(id, dataSeed, timestamp, fingerprint) {
  const key = { keyId: id, keyData: bytes(32, dataSeed), timestamp }
  if (fingerprint !== undefined) key.fingerprint = fingerprint
  return key
}

const EMPTY_HASH = new Uint8Array(128)

module.exports = (h) => {
  describe('appState', () => {
    it('starts empty: exportData has no keys and no collections', async () => {
      const { s } = h.open()
      assertRecord(await s.appState.exportData(), { keys: [], collections: {} })
      assert.equal(await s.appState.getActiveSyncKey(), null)
      assert.equal(await s.appState.getSyncKeyData(keyId(1, 1)), null)
    })

    it('upsertSyncKeys counts inserted or changed keys and skips unchanged keyData', async () => {
      const { s } = h.open()
      const low = syncKey(keyId(2, 5), 1, 10)
      const high = syncKey(keyId(1, 9), 2, 20)
      assert.equal(await s.appState.upsertSyncKeys([low, high]), 2)
      assert.equal(await s.appState.upsertSyncKeys([low]), 0)
      assert.equal(await s.appState.upsertSyncKeys([]), 0)
      assert.equal(await s.appState.upsertSyncKeys([low, syncKey(keyId(2, 5), 7, 11)]), 1)
      assertBytes(await s.appState.getSyncKeyData(keyId(2, 5)), bytes(32, 7))
      const [stored] = await s.appState.getSyncKeysBatch([keyId(2, 5)])
      assert.equal(stored.timestamp, 11, 'a changed key is fully replaced')
    })

    it('sync keys round-trip with a nested fingerprint object', async () => {
      const { s } = h.open()
      const fingerprint = { rawId: 12345, currentIndex: 2, deviceIndexes: [0, 1, 5] }
      const key = syncKey(keyId(3, 4), 9, 1_700_000_000_000, fingerprint)
      await s.appState.upsertSyncKeys([key])
      const [got] = await s.appState.getSyncKeysBatch([keyId(3, 4)])
      assertRecord(got, syncKey(keyId(3, 4), 9, 1_700_000_000_000, { rawId: 12345, currentIndex: 2, deviceIndexes: [0, 1, 5] }))
    })

    it('getSyncKeysBatch and getSyncKeyDataBatch are positional with duplicates and misses', async () => {
      const { s } = h.open()
      const a = u8(1, 1, 1, 1)
      const b = u8(2, 2, 2, 2)
      await s.appState.upsertSyncKeys([
        { keyId: a, keyData: u8(9, 9), timestamp: 10 },
        { keyId: b, keyData: u8(8, 8), timestamp: 20 }
      ])
      const data = await s.appState.getSyncKeyDataBatch([b, u8(7), a, b])
      assert.equal(data.length, 4)
      assertBytes(data[0], u8(8, 8))
      assert.equal(data[1], null)
      assertBytes(data[2], u8(9, 9))
      assertBytes(data[3], u8(8, 8))
      assert.deepEqual(await s.appState.getSyncKeyDataBatch([]), [])
      const keys = await s.appState.getSyncKeysBatch([a, u8(7), a])
      assertRecord(keys, [{ keyId: a, keyData: u8(9, 9), timestamp: 10 }, null, { keyId: a, keyData: u8(9, 9), timestamp: 10 }])
      assert.deepEqual(await s.appState.getSyncKeysBatch([]), [])
    })

    it('key ids are compared by content, not by object identity or view offset', async () => {
      const { s } = h.open()
      const backing = u8(0, 0, 4, 5, 6, 7, 0, 0)
      await s.appState.upsertSyncKeys([{ keyId: backing.subarray(2, 6), keyData: u8(1), timestamp: 1 }])
      assertBytes(await s.appState.getSyncKeyData(u8(4, 5, 6, 7)), u8(1))
      assertBytes(await s.appState.getSyncKeyData(Buffer.from([4, 5, 6, 7])), u8(1))
      assert.equal(await s.appState.getSyncKeyData(u8(4, 5, 6)), null)
    })

    it('getActiveSyncKey picks the highest epoch regardless of insertion order', async () => {
      for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
        const { s } = h.open()
        const keys = [syncKey(keyId(2, 5), 1, 10), syncKey(keyId(1, 9), 2, 20), syncKey(keyId(7, 3), 3, 30)]
        for (const i of order) await s.appState.upsertSyncKeys([keys[i]])
        const active = await s.appState.getActiveSyncKey()
        assertBytes(active.keyId, keyId(1, 9), `order ${order}`)
        assertBytes(active.keyData, bytes(32, 2))
      }
    })

    it('getActiveSyncKey breaks an epoch tie with the lower device id', async () => {
      for (const order of [[0, 1, 2], [2, 1, 0]]) {
        const { s } = h.open()
        const keys = [syncKey(keyId(5, 9), 1, 1), syncKey(keyId(3, 9), 2, 2), syncKey(keyId(4, 9), 3, 3)]
        for (const i of order) await s.appState.upsertSyncKeys([keys[i]])
        assertBytes((await s.appState.getActiveSyncKey()).keyId, keyId(3, 9), `order ${order}`)
      }
    })

    it('getActiveSyncKey: epoch compares as unsigned big-endian; short ids rank lowest', async () => {
      const { s } = h.open()
      await s.appState.upsertSyncKeys([
        syncKey(keyId(0, 0x7fffffff), 1, 1),
        syncKey(keyId(9, 0x80000000), 2, 2),
        { keyId: u8(0xff, 0xff, 0xff), keyData: u8(3), timestamp: 3 }
      ])
      assertBytes((await s.appState.getActiveSyncKey()).keyId, keyId(9, 0x80000000))
      const { s: s2 } = h.open()
      await s2.appState.upsertSyncKeys([{ keyId: u8(0xff, 0xff, 0xff), keyData: u8(3), timestamp: 3 }])
      await s2.appState.upsertSyncKeys([syncKey(keyId(9, 0), 2, 2)])
      assertBytes((await s2.appState.getActiveSyncKey()).keyId, keyId(9, 0), 'epoch 0 beats a too-short key id')
    })

    it('unknown collection: not initialized, version 0, 128 zero bytes, empty Map', async () => {
      const { s } = h.open()
      const state = await s.appState.getCollectionState('regular')
      assert.equal(state.initialized, false)
      assert.equal(state.version, 0)
      assertBytes(state.hash, EMPTY_HASH)
      assert.ok(state.indexValueMap instanceof Map, 'indexValueMap is a Map')
      assert.equal(state.indexValueMap.size, 0)
    })

    it('setCollectionStates / getCollectionState round-trip', async () => {
      const { s } = h.open()
      const map = new Map([
        ['aa11', u8(4, 2)],
        ['bb22', bytes(32, 1)]
      ])
      await s.appState.setCollectionStates([{ collection: 'regular_low', version: 2, hash: bytes(128, 5), indexValueMap: map }])
      const state = await s.appState.getCollectionState('regular_low')
      assert.equal(state.initialized, true)
      assert.equal(state.version, 2)
      assertBytes(state.hash, bytes(128, 5))
      assert.ok(state.indexValueMap instanceof Map)
      assertRecord(state.indexValueMap, map)
      await s.appState.setCollectionStates([])
      assert.equal((await s.appState.getCollectionState('regular_low')).version, 2)
    })

    it('setCollectionStates replaces the whole map (removed index entries disappear)', async () => {
      const { s } = h.open()
      await s.appState.setCollectionStates([
        { collection: 'regular_high', version: 1, hash: u8(1), indexValueMap: new Map([['aa', u8(1)], ['bb', u8(2)]]) }
      ])
      await s.appState.setCollectionStates([
        { collection: 'regular_high', version: 2, hash: u8(2), indexValueMap: new Map([['cc', u8(3)], ['bb', u8(9)]]) }
      ])
      const state = await s.appState.getCollectionState('regular_high')
      assert.equal(state.version, 2)
      assertBytes(state.hash, u8(2))
      assertRecord(state.indexValueMap, new Map([['cc', u8(3)], ['bb', u8(9)]]))
      await s.appState.setCollectionStates([{ collection: 'regular_high', version: 3, hash: EMPTY_HASH, indexValueMap: new Map() }])
      const emptied = await s.appState.getCollectionState('regular_high')
      assert.equal(emptied.initialized, true)
      assert.equal(emptied.version, 3)
      assert.equal(emptied.indexValueMap.size, 0)
    })

    it('a large collection (2 000 entries) with a one-entry change round-trips', async () => {
      const { s } = h.open()
      const seed = new Map()
      for (let i = 0; i < 2000; i += 1) seed.set(i.toString(16).padStart(64, '0'), bytes(32, i))
      await s.appState.setCollectionStates([{ collection: 'regular', version: 1, hash: bytes(128, 1), indexValueMap: seed }])
      const changed = new Map(seed)
      changed.delete('0'.padStart(64, '0'))
      changed.set('f'.repeat(64), u8(0xee))
      await s.appState.setCollectionStates([{ collection: 'regular', version: 2, hash: bytes(128, 2), indexValueMap: changed }])
      const state = await s.appState.getCollectionState('regular')
      assert.equal(state.indexValueMap.size, 2000)
      assertRecord(state.indexValueMap, changed)
    })

    it('one call can update several collections; getCollectionStates keeps the requested order', async () => {
      const { s } = h.open()
      await s.appState.setCollectionStates([
        { collection: 'regular', version: 11, hash: u8(1, 1), indexValueMap: new Map([['ra', u8(1)]]) },
        { collection: 'critical_unblock_low', version: 22, hash: u8(2, 2), indexValueMap: new Map([['cb', u8(2)]]) }
      ])
      const states = await s.appState.getCollectionStates(['critical_unblock_low', 'critical_block', 'regular', 'critical_unblock_low'])
      assert.equal(states.length, 4)
      assert.equal(states[0].version, 22)
      assertBytes(states[0].hash, u8(2, 2))
      assert.equal(states[1].initialized, false)
      assert.equal(states[1].version, 0)
      assertBytes(states[1].hash, EMPTY_HASH)
      assert.equal(states[2].version, 11)
      assertRecord(states[2].indexValueMap, new Map([['ra', u8(1)]]))
      assert.equal(states[3].version, 22)
      assert.deepEqual(await s.appState.getCollectionStates([]), [])
    })

    it('exportData returns keys and collections with plain-object index maps', async () => {
      const { s } = h.open()
      await s.appState.upsertSyncKeys([
        { keyId: u8(1, 1, 1, 1), keyData: u8(9, 9, 9, 9), timestamp: 111 },
        { keyId: u8(2, 2, 2, 2), keyData: u8(8, 8, 8, 8), timestamp: 222 }
      ])
      await s.appState.setCollectionStates([
        { collection: 'regular', version: 3, hash: u8(1, 1, 1), indexValueMap: new Map([['aa', u8(9)]]) },
        { collection: 'critical_block', version: 4, hash: u8(2, 2, 2), indexValueMap: new Map([['bb', u8(8)]]) }
      ])
      const exported = await s.appState.exportData()
      const keys = [...exported.keys].sort((x, y) => x.timestamp - y.timestamp)
      assertRecord(keys, [
        { keyId: u8(1, 1, 1, 1), keyData: u8(9, 9, 9, 9), timestamp: 111 },
        { keyId: u8(2, 2, 2, 2), keyData: u8(8, 8, 8, 8), timestamp: 222 }
      ])
      assertRecord(exported.collections, {
        regular: { version: 3, hash: u8(1, 1, 1), indexValueMap: { aa: u8(9) } },
        critical_block: { version: 4, hash: u8(2, 2, 2), indexValueMap: { bb: u8(8) } }
      })
    })

    it('clear() removes keys and collection states', async () => {
      const { s } = h.open()
      await s.appState.upsertSyncKeys([syncKey(keyId(1, 1), 1, 1)])
      await s.appState.setCollectionStates([{ collection: 'regular', version: 1, hash: u8(1), indexValueMap: new Map([['a', u8(1)]]) }])
      await s.appState.clear()
      assertRecord(await s.appState.exportData(), { keys: [], collections: {} })
      assert.equal(await s.appState.getActiveSyncKey(), null)
      assert.equal((await s.appState.getCollectionState('regular')).initialized, false)
    })
  })
}
