'use strict'
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, senderKeyRecord, assertRecord } = require('../helpers/util')

const G1 = '120363000000000001@g.us'
const G2 = '120363000000000002@g.us'

function dist(groupId, sender, keyId, timestampMs) {
  return { groupId, sender, keyId, timestampMs }
}

const byUser = (a, b) => (a.sender.user + a.sender.device).localeCompare(b.sender.user + b.sender.device)

module.exports = (h) => {
  describe('senderKey', () => {
    it('unknown: getDeviceSenderKey null, empty group list', async () => {
      const { s } = h.open()
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, addr('a', 0)), null)
      assertRecord(await s.senderKey.getGroupSenderKeyList(G1), { skList: [], skDistribList: [] })
    })

    it('upsertSenderKey stores the whole record and returns it deep-equal', async () => {
      const { s } = h.open()
      const rec = { ...senderKeyRecord(G1, addr('5511', 1), 3), extra: { nested: [1, 2.5, null, undefined] } }
      await s.senderKey.upsertSenderKey(rec)
      assert.deepStrictEqual(await s.senderKey.getDeviceSenderKey(G1, addr('5511', 1)), {
        ...senderKeyRecord(G1, addr('5511', 1), 3),
        extra: { nested: [1, 2.5, null, undefined] }
      })
    })

    it('upsertSenderKey replaces the record of the same group and sender', async () => {
      const { s } = h.open()
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 0), 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 0), 2))
      assert.deepStrictEqual(await s.senderKey.getDeviceSenderKey(G1, addr('a', 0)), senderKeyRecord(G1, addr('a', 0), 2))
      assert.equal((await s.senderKey.getGroupSenderKeyList(G1)).skList.length, 1)
    })

    it('lookup works with or without the default server; device and group distinguish', async () => {
      const { s } = h.open()
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 1), 1))
      assert.ok(await s.senderKey.getDeviceSenderKey(G1, { user: 'a', device: 1 }))
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, addr('a', 2)), null)
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, addr('a', 1, 'lid')), null)
      assert.equal(await s.senderKey.getDeviceSenderKey(G2, addr('a', 1)), null)
    })

    it('distributions: single and batch upsert, positional lookup, last write wins', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 2)
      await s.senderKey.upsertSenderKeyDistribution(dist(G1, a, 10, 1000))
      await s.senderKey.upsertSenderKeyDistributions([dist(G1, a, 10, 1001), dist(G1, b, 11, 1002)])
      await s.senderKey.upsertSenderKeyDistributions([])
      const got = await s.senderKey.getDeviceSenderKeyDistributions(G1, [b, addr('99999', 9), a, b])
      assert.equal(got.length, 4)
      assertRecord(got[0], dist(G1, b, 11, 1002))
      assert.equal(got[1], null)
      assertRecord(got[2], dist(G1, a, 10, 1001))
      assertRecord(got[3], dist(G1, b, 11, 1002))
      assert.deepEqual(await s.senderKey.getDeviceSenderKeyDistributions(G1, []), [])
      assert.deepEqual(await s.senderKey.getDeviceSenderKeyDistributions(G2, [a]), [null])
    })

    it('a distribution written without server comes back with server', async () => {
      const { s } = h.open()
      await s.senderKey.upsertSenderKeyDistribution(dist(G1, { user: 'x', device: 0 }, 1, 5))
      const [got] = await s.senderKey.getDeviceSenderKeyDistributions(G1, [addr('x', 0)])
      assertRecord(got, dist(G1, addr('x', 0, 's.whatsapp.net'), 1, 5))
    })

    it('getGroupSenderKeyList returns only that group\'s keys and distributions', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 2)
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, a, 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, b, 2))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G2, a, 3))
      await s.senderKey.upsertSenderKeyDistributions([dist(G1, a, 1, 10), dist(G1, b, 2, 11), dist(G2, b, 3, 12)])
      const list = await s.senderKey.getGroupSenderKeyList(G1)
      assert.deepStrictEqual([...list.skList].sort(byUser), [senderKeyRecord(G1, a, 1), senderKeyRecord(G1, b, 2)])
      assertRecord([...list.skDistribList].sort(byUser), [dist(G1, a, 1, 10), dist(G1, b, 2, 11)])
    })

    it('deleteDeviceSenderKey with a group deletes that sender\'s key + distribution there only', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 1)
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, a, 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G2, a, 2))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, b, 3))
      await s.senderKey.upsertSenderKeyDistributions([dist(G1, a, 1, 1), dist(G2, a, 2, 2), dist(G1, b, 3, 3)])
      assert.equal(await s.senderKey.deleteDeviceSenderKey(a, G1), 2)
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, a), null)
      assert.deepEqual(await s.senderKey.getDeviceSenderKeyDistributions(G1, [a]), [null])
      assert.ok(await s.senderKey.getDeviceSenderKey(G2, a), 'other group kept')
      assert.ok(await s.senderKey.getDeviceSenderKey(G1, b), 'other sender kept')
      assert.equal(await s.senderKey.deleteDeviceSenderKey(a, G1), 0, 'second delete finds nothing')
    })

    it('deleteDeviceSenderKey without a group deletes that sender in every group', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 1)
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, a, 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G2, a, 2))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, b, 3))
      await s.senderKey.upsertSenderKeyDistribution(dist(G1, a, 1, 1))
      await s.senderKey.upsertSenderKeyDistribution(dist(G2, a, 2, 2))
      assert.equal(await s.senderKey.deleteDeviceSenderKey(a), 4)
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, a), null)
      assert.equal(await s.senderKey.getDeviceSenderKey(G2, a), null)
      assert.ok(await s.senderKey.getDeviceSenderKey(G1, b))
      assert.equal(await s.senderKey.deleteDeviceSenderKey(a), 0)
    })

    it('deleteDeviceSenderKey matches the exact device (and default server)', async () => {
      const { s } = h.open()
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 1), 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 2), 2))
      assert.equal(await s.senderKey.deleteDeviceSenderKey({ user: 'a', device: 1 }, G1), 1)
      assert.ok(await s.senderKey.getDeviceSenderKey(G1, addr('a', 2)))
    })

    it('markForgetSenderKey deletes the participants\' keys + distributions in that group and counts them', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 2)
      const c = addr('33333', 3)
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, a, 1))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, b, 2))
      await s.senderKey.upsertSenderKey(senderKeyRecord(G2, a, 3))
      await s.senderKey.upsertSenderKeyDistributions([dist(G1, a, 1, 1), dist(G1, b, 2, 2)])
      assert.equal(await s.senderKey.markForgetSenderKey(G1, []), 0)
      assert.equal(await s.senderKey.markForgetSenderKey(G1, [c]), 0)
      assert.equal(await s.senderKey.markForgetSenderKey(G1, [a, c]), 2)
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, a), null)
      assert.ok(await s.senderKey.getDeviceSenderKey(G1, b))
      assert.ok(await s.senderKey.getDeviceSenderKey(G2, a), 'other groups are untouched')
      assert.equal(await s.senderKey.markForgetSenderKey(G1, [b]), 2)
      assertRecord(await s.senderKey.getGroupSenderKeyList(G1), { skList: [], skDistribList: [] })
    })

    it('clear() removes keys and distributions', async () => {
      const { s } = h.open()
      await s.senderKey.upsertSenderKey(senderKeyRecord(G1, addr('a', 0), 1))
      await s.senderKey.upsertSenderKeyDistribution(dist(G1, addr('a', 0), 1, 1))
      await s.senderKey.clear()
      assertRecord(await s.senderKey.getGroupSenderKeyList(G1), { skList: [], skDistribList: [] })
      assert.equal(await s.senderKey.getDeviceSenderKey(G1, addr('a', 0)), null)
    })
  })
}
