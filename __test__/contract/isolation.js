'use strict'
// Two sessions of one store never see each other's data, in any domain, and
// clear() in one leaves the other intact.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, bytes, u8, uid, norm } = require('../helpers/util')

const NOW = () => Date.now()
const ADDR = addr('5511', 1)
const JID = '5511@s.whatsapp.net'

/**
 * Per domain: write(s, v) stores variant v (1 or 2) under the SAME keys in any
 * session; read(s) returns a comparable snapshot; empty is what read() gives
 * when nothing was written.
 */
const SCENARIOS = {
  auth: {
    write: (s, v) => s.auth.save({ v, bytes: bytes(8, v) }),
    read: (s) => s.auth.load()
  },
  signal: {
    write: async (s, v) => {
      await s.signal.setRegistrationInfo({ registrationId: v, identityKeyPair: { pubKey: bytes(33, v), privKey: bytes(32, v) } })
      await s.signal.setSignedPreKey({ keyId: 1, keyPair: { pubKey: bytes(33, v), privKey: bytes(32, v) }, signature: bytes(64, v) })
      await s.signal.setSignedPreKeyRotationTs(1000 + v)
    },
    read: async (s) => ({
      reg: await s.signal.getRegistrationInfo(),
      spk: await s.signal.getSignedPreKeyById(1),
      ts: await s.signal.getSignedPreKeyRotationTs()
    })
  },
  preKey: {
    write: async (s, v) => {
      await s.preKey.putPreKey({ keyId: 3, keyPair: { pubKey: bytes(33, v), privKey: bytes(32, v) }, uploaded: false })
      await s.preKey.setServerHasPreKeys(v === 1)
    },
    read: async (s) => {
      const rec = await s.preKey.getPreKeyById(3)
      return { pub: rec && rec.keyPair.pubKey, flag: await s.preKey.getServerHasPreKeys() }
    }
  },
  session: {
    write: (s, v) => s.session.setSession(ADDR, { v }),
    read: (s) => s.session.getSession(ADDR)
  },
  identity: {
    write: (s, v) => s.identity.setRemoteIdentity(ADDR, bytes(33, v)),
    read: (s) => s.identity.getRemoteIdentity(ADDR)
  },
  senderKey: {
    write: async (s, v) => {
      await s.senderKey.upsertSenderKey({ groupId: 'g@g.us', sender: ADDR, v })
      await s.senderKey.upsertSenderKeyDistribution({ groupId: 'g@g.us', sender: ADDR, keyId: v, timestampMs: v })
    },
    read: async (s) => ({
      key: await s.senderKey.getDeviceSenderKey('g@g.us', ADDR),
      dist: await s.senderKey.getDeviceSenderKeyDistributions('g@g.us', [ADDR]),
      list: await s.senderKey.getGroupSenderKeyList('g@g.us')
    })
  },
  appState: {
    write: async (s, v) => {
      await s.appState.upsertSyncKeys([{ keyId: u8(0, 1, 0, 0, 0, 1), keyData: bytes(32, v), timestamp: v }])
      await s.appState.setCollectionStates([{ collection: 'regular', version: v, hash: bytes(128, v), indexValueMap: new Map([[`k${v}`, u8(v)]]) }])
    },
    read: async (s) => ({
      data: await s.appState.getSyncKeyData(u8(0, 1, 0, 0, 0, 1)),
      active: await s.appState.getActiveSyncKey(),
      state: await s.appState.getCollectionState('regular'),
      exported: await s.appState.exportData()
    })
  },
  privacyToken: {
    write: (s, v) => s.privacyToken.upsert({ jid: JID, tcToken: u8(v), updatedAtMs: v }),
    read: (s) => s.privacyToken.getByJid(JID)
  },
  messages: {
    write: (s, v) => s.messages.upsert({ id: 'm1', threadJid: JID, fromMe: v === 1, timestampMs: v, messageBytes: u8(v) }),
    read: async (s) => ({ byId: await s.messages.getById('m1'), list: await s.messages.listByThread(JID) })
  },
  threads: {
    write: (s, v) => s.threads.upsert({ jid: JID, name: `name-${v}`, unreadCount: v }),
    read: async (s) => ({ one: await s.threads.getByJid(JID), all: await s.threads.list() })
  },
  contacts: {
    write: (s, v) => s.contacts.upsert({ jid: '77@lid', phoneNumber: JID, pushName: `p${v}`, lastUpdatedMs: v }),
    read: async (s) => ({ one: await s.contacts.getByJid('77@lid'), byPn: await s.contacts.getByJid(JID) })
  },
  retry: {
    write: (s, v) =>
      s.retry.upsertOutboundMessage({
        messageId: 'r1',
        toJid: JID,
        eligibleRequesterDeviceJids: [`dev${v}`],
        replayMode: 'plaintext',
        replayPayload: u8(v),
        state: 'pending',
        updatedAtMs: NOW(),
        expiresAtMs: NOW() + 60_000
      }),
    read: async (s) => ({
      msg: await s.retry.getOutboundMessage('r1'),
      status: await s.retry.getOutboundRequesterStatus('r1', 'dev1')
    })
  },
  groupMetadata: {
    write: (s, v) => s.groupMetadata.upsertGroupMetadata({ groupJid: 'g@g.us', participants: [`p${v}`], updatedAtMs: NOW() }),
    read: async (s) => {
      const got = await s.groupMetadata.getGroupMetadata('g@g.us')
      return got && got.participants
    }
  },
  chatMetadata: {
    write: (s, v) => s.chatMetadata.upsertChatMetadata({ chatJid: JID, ephemeralExpiration: v, updatedAtMs: NOW() }),
    read: async (s) => {
      const got = await s.chatMetadata.getChatMetadata(JID)
      return got && got.ephemeralExpiration
    }
  },
  deviceList: {
    write: (s, v) => s.deviceList.upsertUserDevicesBatch([{ userJid: JID, altUserJid: '77@lid', deviceJids: [`d${v}`], updatedAtMs: NOW() }]),
    read: async (s) => {
      const [one] = await s.deviceList.getUserDevicesBatch([JID])
      const alt = await s.deviceList.findByAnyUserJid('77@lid')
      return { one: one && one.deviceJids, alt: alt && alt.deviceJids }
    }
  },
  messageSecret: {
    write: (s, v) => s.messageSecret.set('m1', { secret: u8(v), senderJid: `s${v}` }),
    read: (s) => s.messageSecret.get('m1')
  }
}

async function snapshot(s, name) {
  return norm(await SCENARIOS[name].read(s))
}

module.exports = (h) => {
  describe('session isolation', () => {
    for (const name of Object.keys(SCENARIOS)) {
      it(`${name}: sessions do not see each other; clear() is per session`, async () => {
        const { store } = h.open()
        const a = store.session(uid('iso-a'))
        const b = store.session(uid('iso-b'))
        const empty = await snapshot(b, name)

        await SCENARIOS[name].write(a, 1)
        const a1 = await snapshot(a, name)
        assert.notDeepStrictEqual(a1, empty, `${name}: the write is visible in its own session`)
        assert.deepStrictEqual(await snapshot(b, name), empty, `${name}: session B sees nothing of A`)

        await SCENARIOS[name].write(b, 2)
        const b2 = await snapshot(b, name)
        assert.notDeepStrictEqual(b2, a1)
        assert.deepStrictEqual(await snapshot(a, name), a1, `${name}: A unchanged by B's write to the same keys`)

        await a[name].clear()
        assert.deepStrictEqual(await snapshot(a, name), empty, `${name}: A is empty after its clear()`)
        assert.deepStrictEqual(await snapshot(b, name), b2, `${name}: B intact after A's clear()`)
      })
    }

    it('preKey counters and retry counters are per session', async () => {
      const { store } = h.open()
      const a = store.session(uid('ctr-a'))
      const b = store.session(uid('ctr-b'))
      const gen = (keyId) => ({ keyId, keyPair: { pubKey: bytes(33, keyId), privKey: bytes(32, keyId) }, uploaded: false })
      await a.preKey.getOrGenPreKeys(5, gen)
      const [first] = await b.preKey.getOrGenPreKeys(1, gen)
      assert.equal(first.keyId, 1, 'B starts its own counter at 1')
      await a.preKey.markKeyAsUploaded(5)
      await b.preKey.markKeyAsUploaded(1)
      await a.preKey.consumePreKeyById(1)
      assert.ok(await b.preKey.getPreKeyById(1), 'consume in A leaves B alone')
      await Promise.all([
        a.retry.incrementInboundCounter('m', 'r', 1, NOW() + 60_000),
        a.retry.incrementInboundCounter('m', 'r', 1, NOW() + 60_000)
      ])
      assert.equal(await b.retry.incrementInboundCounter('m', 'r', 1, NOW() + 60_000), 1)
    })

    it('sender-key deletes and cache cleanups only touch their own session', async () => {
      const { store } = h.open()
      const a = store.session(uid('del-a'))
      const b = store.session(uid('del-b'))
      for (const s of [a, b]) {
        await s.senderKey.upsertSenderKey({ groupId: 'g@g.us', sender: ADDR })
        await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g@g.us', participants: [], updatedAtMs: 1000 })
        await s.messages.upsert({ id: 'm', threadJid: JID, fromMe: true })
      }
      assert.equal(await a.senderKey.deleteDeviceSenderKey(ADDR), 1)
      assert.equal(await a.senderKey.markForgetSenderKey('g@g.us', [ADDR]), 0)
      assert.ok(await b.senderKey.getDeviceSenderKey('g@g.us', ADDR))
      assert.equal(await a.groupMetadata.cleanupExpired(10_000_000), 1)
      assert.ok(await b.groupMetadata.getGroupMetadata('g@g.us', 1000))
      assert.equal(await a.messages.deleteById('m'), 1)
      assert.ok(await b.messages.getById('m'))
    })
  })
}
