'use strict'
// A mixed-backend configuration: auth and Signal state on PostgreSQL (durable,
// transactional), the five caches on Redis (native expiry), and the message
// archive on PostgreSQL under its own table prefix (it can be another database).
//
//   DATABASE_URL=postgres://user@localhost:5432/wa REDIS_URL=redis://localhost:6379 node examples/mixed-backends.js
//
// Env: DATABASE_URL and REDIS_URL (required), ARCHIVE_URL (default DATABASE_URL),
// PREFIX (default wastore_; Redis keys and archive tables get it too), SESSION (default main).

const { createPostgresStore, createRedisStore, createStore } = require('wastore')

const { DATABASE_URL, REDIS_URL } = process.env
if (!DATABASE_URL || !REDIS_URL) {
  console.error('set DATABASE_URL (postgres://...) and REDIS_URL (redis://...)')
  process.exit(2)
}
const prefix = process.env.PREFIX || 'wastore_'

const store = createStore({
  backends: {
    state: createPostgresStore({ connectionString: DATABASE_URL, tablePrefix: prefix }),
    archive: createPostgresStore({ connectionString: process.env.ARCHIVE_URL || DATABASE_URL, tablePrefix: `${prefix}archive_` }),
    caches: createRedisStore({ url: REDIS_URL, keyPrefix: `${prefix}cache:` })
  },
  providers: {
    auth: 'state',
    signal: 'state',
    preKey: 'state',
    session: 'state',
    identity: 'state',
    senderKey: 'state',
    appState: 'state',
    privacyToken: 'state',
    messages: 'archive',
    threads: 'archive',
    contacts: 'archive'
  },
  cacheProviders: {
    retry: 'caches',
    groupMetadata: 'caches',
    chatMetadata: 'caches',
    deviceList: 'caches',
    messageSecret: 'caches'
  }
})

async function main() {
  const s = store.session(process.env.SESSION || 'main')
  const peer = { user: '5511999990000', server: 's.whatsapp.net', device: 0 }
  const chat = '5511999990000@s.whatsapp.net'
  const group = '120363000000000001@g.us'

  // Auth and Signal: PostgreSQL.
  await s.auth.save({ me: '5511888880000@s.whatsapp.net', paired: true })
  await s.session.setSession(peer, { ratchet: 1 })
  await s.identity.setRemoteIdentity(peer, new Uint8Array(33).fill(5))
  // Caches: Redis, with their TTLs.
  await s.groupMetadata.upsertGroupMetadata({ groupJid: group, participants: [chat], updatedAtMs: Date.now() })
  await s.deviceList.upsertUserDevicesBatch([{ userJid: chat, deviceJids: [`${peer.user}:0@s.whatsapp.net`], updatedAtMs: Date.now() }])
  await s.messageSecret.set('3EB0ABCDEF', { secret: new Uint8Array(32).fill(1), senderJid: chat })
  // Archive: PostgreSQL (write-behind batches these).
  await s.messages.upsert({ id: '3EB0ABCDEF', threadJid: chat, fromMe: false, timestampMs: Date.now(), messageBytes: Buffer.from('hello') })
  await s.threads.upsert({ jid: chat, name: 'Alice', unreadCount: 1 })
  await s.flush()

  const read = {
    auth: (await s.auth.load()).paired,
    session: (await s.session.getSession(peer)).ratchet,
    group: (await s.groupMetadata.getGroupMetadata(group)).participants.length,
    devices: (await s.deviceList.getUserDevicesBatch([chat]))[0].deviceJids.length,
    secret: (await s.messageSecret.get('3EB0ABCDEF')).senderJid === chat,
    message: (await s.messages.getById('3EB0ABCDEF')).messageBytes.length,
    thread: (await s.threads.getByJid(chat)).name
  }
  // store.metrics() shows which backend served which domain.
  const routes = {}
  for (const m of store.metrics().matchAll(/^wastore_operations_total\{backend="([^"]+)",domain="([^"]+)"\} (\d+)$/gm)) {
    if (Number(m[3]) > 0) (routes[m[1]] ??= []).push(m[2])
  }
  // Note: destroying the store clears the caches (zapo's session teardown); the rest stays.
  await store.destroy()
  console.log(JSON.stringify({ ok: true, read, routes }))
}

main().catch(async (err) => {
  console.error(`failed: ${err && err.code ? `${err.code}: ` : ''}${err && err.message}`)
  await store.destroy().catch(() => {})
  process.exitCode = 1
})
