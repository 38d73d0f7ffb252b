'use strict'
// A zapo-style multi-tenant worker: ONE store on PostgreSQL serves N WhatsApp
// accounts, each under its own sessionId. A `/metrics` endpoint exposes
// store.metrics(). On SIGTERM (or SIGINT) it stops taking work, flushes what
// every session has pending, destroys the store, and exits 0.
//
// With zapo, each tenant is a client over the shared store:
//     const client = new WaClient({ store, sessionId })
// Here (no network) each tenant runs a job loop that writes what a client
// writes: credentials, Signal sessions, and the message archive (write-behind).
//
//   DATABASE_URL=postgres://user@localhost:5432/wa TENANTS=acme,globex node examples/multi-tenant-worker.js
//
// Env: DATABASE_URL (required), TENANTS (comma-separated, default 3 tenants),
// TABLE_PREFIX (default wastore_), METRICS_PORT (default 9464; 0 picks one),
// LOG_LEVEL (default info; the logger is a small pino-shaped console logger).

const http = require('node:http')
const { createPostgresStore, createStore } = require('wastore')

const url = process.env.DATABASE_URL
if (!url) {
  console.error('set DATABASE_URL, e.g. postgres://user@localhost:5432/wa')
  process.exit(2)
}
const tenants = (process.env.TENANTS || 'tenant-a,tenant-b,tenant-c').split(',').map((t) => t.trim()).filter(Boolean)

/** A pino-shaped logger on stderr (swap in pino itself: `logger: pino()`). */
function consoleLogger(level = 'info', bindings = {}) {
  const levels = ['trace', 'debug', 'info', 'warn', 'error']
  const min = levels.indexOf(level)
  const log = { child: (more) => consoleLogger(level, { ...bindings, ...more }) }
  for (const [i, name] of levels.entries()) {
    log[name] = i < min ? () => {} : (fields, msg) => console.error(JSON.stringify({ level: name, ...bindings, ...fields, msg }))
  }
  return log
}

const pg = createPostgresStore({ connectionString: url, tablePrefix: process.env.TABLE_PREFIX || 'wastore_', pool: { max: 8 } })
const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const store = createStore({
  backends: { pg },
  providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'pg'])),
  logger: consoleLogger(process.env.LOG_LEVEL || 'info')
})

let stopping = false
const counts = Object.fromEntries(tenants.map((t) => [t, 0]))

/** One tenant's work: what a connected client writes per incoming message. */
async function runTenant(sessionId) {
  const s = store.session(sessionId)
  const creds = (await s.auth.load()) || { me: `${sessionId}@s.whatsapp.net`, createdAt: Date.now(), messages: 0 }
  const peer = { user: '5511999990000', server: 's.whatsapp.net', device: 0 }
  const thread = '5511999990000@s.whatsapp.net'
  let n = creds.messages
  while (!stopping) {
    n += 1
    await s.session.setSession(peer, { ratchet: n, tenant: sessionId }) // the Signal session after a decrypt
    // Archive writes are queued (write-behind) and written in batches.
    await s.messages.upsert({ id: `${sessionId}-${n}`, threadJid: thread, fromMe: n % 2 === 0, timestampMs: Date.now(), messageBytes: Buffer.from(`message ${n}`) })
    await s.threads.upsert({ jid: thread, name: 'Support', unreadCount: n })
    if (n % 10 === 0) await s.auth.save({ ...creds, messages: n })
    if (counts[sessionId] === 0) console.log(JSON.stringify({ working: sessionId })) // its first job is stored
    counts[sessionId] = n
    await new Promise((r) => setTimeout(r, 5))
  }
  await s.auth.save({ ...creds, messages: n })
}

const server = http.createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(store.metrics())
})

async function main() {
  const loops = tenants.map((t) => runTenant(t))
  await new Promise((resolve) => server.listen(Number(process.env.METRICS_PORT ?? 9464), '127.0.0.1', resolve))
  console.log(JSON.stringify({ ready: true, tenants, metrics: `http://127.0.0.1:${server.address().port}/metrics` }))

  const shutdown = async (signal) => {
    if (stopping) return
    stopping = true
    server.close()
    await Promise.all(loops) // the in-flight job of each tenant finishes
    // Deferred Signal writes and the archive's write-behind queue, per session.
    const reports = await Promise.all(tenants.map((t) => store.session(t).flush(10_000)))
    await store.destroy()
    console.log(JSON.stringify({ shutdown: signal, counts, remaining: reports.reduce((sum, r) => sum + r.remaining, 0) }))
  }
  process.once('SIGTERM', () => shutdown('SIGTERM').catch(fail))
  process.once('SIGINT', () => shutdown('SIGINT').catch(fail))
  await Promise.all(loops)
}

function fail(err) {
  console.error(`worker failed: ${err && err.code ? `${err.code}: ` : ''}${err && err.message}`)
  process.exitCode = 1
}

main().catch(fail)
