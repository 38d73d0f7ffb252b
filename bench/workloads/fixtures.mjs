// Synthetic but realistically shaped data shared by the workloads.

import crypto from 'node:crypto'

const bytes = (n) => new Uint8Array(crypto.randomBytes(n))

/** Shaped like zapo's SignalSessionRecord: nested objects holding Uint8Arrays (about 1 KB). */
export function sessionRecord(n) {
  const chain = () => ({ senderRatchetKey: bytes(33), chainKey: { index: n % 7, key: bytes(32) }, messageKeys: [] })
  return {
    local: { regId: 4242, pubKey: bytes(33) },
    remote: { regId: 1000 + (n % 5000), pubKey: bytes(33) },
    rootKey: bytes(32),
    sendChain: { ratchetKey: { pubKey: bytes(33), privKey: bytes(32) }, nextMsgIndex: n % 100, chainKey: bytes(32) },
    recvChains: [chain(), chain()],
    initialExchangeInfo: { remoteOneTimeId: n, remoteSignedId: 1, localOneTimePubKey: bytes(33), localSignedPubKey: bytes(33) },
    prevSendChainHighestIndex: n % 50,
    aliceBaseKey: bytes(33),
    prevSessions: [],
  }
}

export const signalAddress = (i) => ({ user: `5511${900000000 + i}`, server: 's.whatsapp.net', device: i % 4 })

/** The chat of message `i`: every 5th goes to one busy group, the rest spread over 100 chats. */
export const HOT_THREAD = '120363000000000099@g.us'
export const threadOf = (i) => (i % 5 === 0 ? HOT_THREAD : `5511${980000000 + (i % 100)}@s.whatsapp.net`)

/**
 * A `messages.upsert` item as Baileys emits it (about 0.9 KB as JSON): key,
 * a unique timestamp, pushName, status, an extended text with context info,
 * and message context info with Buffers and a 32-byte message secret.
 */
export function waMessage(i) {
  const remoteJid = threadOf(i)
  const fromMe = i % 3 === 0
  return {
    key: { remoteJid, fromMe, id: `3EB0${i.toString(16).toUpperCase().padStart(16, '0')}`, ...(remoteJid.endsWith('@g.us') && !fromMe ? { participant: `5511${970000000 + (i % 40)}@s.whatsapp.net` } : {}) },
    messageTimestamp: 1_700_000_000 + i,
    pushName: `Contact ${i % 40}`,
    status: 2,
    message: {
      extendedTextMessage: {
        text: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(6)}`,
        contextInfo: { stanzaId: `3EB0${(i + 7).toString(16)}`, participant: `5511${970000000 + ((i + 1) % 40)}@s.whatsapp.net`, quotedMessage: { conversation: 'quoted text' }, expiration: 0 },
      },
      messageContextInfo: {
        deviceListMetadata: { senderKeyHash: Buffer.from(crypto.randomBytes(10)), senderTimestamp: 1_699_999_000, recipientKeyHash: Buffer.from(crypto.randomBytes(10)), recipientTimestamp: 1_699_999_100 },
        deviceListMetadataVersion: 2,
        messageSecret: Buffer.from(crypto.randomBytes(32)),
      },
    },
  }
}

/**
 * `count` registered accounts' creds (about 2.6 KB as BufferJSON each): one
 * `initAuthCreds()` (14 ms of pure-JS signing, not store cost, so made once)
 * with the key material randomized per account, plus the fields a paired
 * account has.
 */
export function registeredCreds(baileys, count) {
  const template = baileys.initAuthCreds()
  const pair = () => ({ private: Buffer.from(crypto.randomBytes(32)), public: Buffer.from(crypto.randomBytes(32)) })
  return Array.from({ length: count }, (_, i) => ({
    ...template,
    noiseKey: pair(),
    pairingEphemeralKeyPair: pair(),
    signedIdentityKey: pair(),
    signedPreKey: { keyPair: pair(), signature: Buffer.from(crypto.randomBytes(64)), keyId: 1 },
    registrationId: 1 + (i % 16000),
    advSecretKey: crypto.randomBytes(32).toString('base64'),
    me: { id: `5511${960000000 + i}:12@s.whatsapp.net`, lid: `${100000000000 + i}:12@lid`, name: `Account ${i}` },
    account: { details: Buffer.from(crypto.randomBytes(120)), accountSignatureKey: Buffer.from(crypto.randomBytes(32)), accountSignature: Buffer.from(crypto.randomBytes(64)), deviceSignature: Buffer.from(crypto.randomBytes(64)) },
    signalIdentities: [{ identifier: { name: `5511${960000000 + i}:12@s.whatsapp.net`, deviceId: 0 }, identifierKey: Buffer.from(crypto.randomBytes(33)) }],
    myAppStateKeyId: crypto.randomBytes(6).toString('base64'),
    firstUnuploadedPreKeyId: 31,
    nextPreKeyId: 31,
    lastAccountSyncTimestamp: 1_700_000_000 + i,
    platform: 'android',
    processedHistoryMessages: [],
    accountSyncCounter: 1,
    accountSettings: { unarchiveChats: false },
    registered: true,
    routingInfo: Buffer.from(crypto.randomBytes(16)),
  }))
}
