#!/usr/bin/env node
// `npm run bench:cache` — the Signal object cache and group commit, in process.
//
// 1. Cache hit: `await getSession(addr)` on warm addresses, wastore (SQLite
//    backend, cache on) against a plain JS Map store with the same async
//    method (the least a JS store can do). Headline: ns per hit, and the ratio.
// 2. Durable writes: `setSession` in 'sync' mode (each promise resolves after
//    the backend committed it) at concurrency 1, 16 and 64 on every backend
//    that answers, with the transactions group commit used per write.
// 3. Archive ingest: messages.upsert through write-behind, until flushed.
//
// Every figure is the median of RUNS runs (min–max shown). Writes
// bench/results/signal-cache.{json,md}.
//
// Env: BENCH_RUNS (default 3), BENCH_MS (per durable-write case, default 1500),
//      BENCH_BACKENDS (default sqlite,postgres,mysql,redis,mongo; unreachable ones are reported and skipped),
//      BENCH_QUICK=1 (short runs, for CI).
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const wastore = require('..')
const { machineInfo, spread, fmtNum, fmtRatio, fmtSpread, renderText, renderMarkdownTable, machineMarkdown } = require('./lib')

const QUICK = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick')
const RUNS = Number(process.env.BENCH_RUNS || 3)
const WRITE_MS = Number(process.env.BENCH_MS || (QUICK ? 300 : 1500))
const HITS = QUICK ? 50_000 : 300_000
const INGEST = QUICK ? 5_000 : 50_000
const CONCURRENCY = [1, 16, 64]
const ALL = ['memory', 'sqlite', 'postgres', 'mysql', 'redis', 'mongo']
const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const CACHES = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

const URLS = {
  postgres: process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test',
  mysql: process.env.WASTORE_TEST_MYSQL_URL || 'mysql://wastore@127.0.0.1:3306/wastore_test',
  redis: process.env.WASTORE_TEST_REDIS_URL || 'redis://127.0.0.1:6379/',
  mongo: process.env.WASTORE_TEST_MONGO_URL || 'mongodb://127.0.0.1:27017',
}

function backend(kind, dir, tag) {
  const prefix = `bench_${process.pid}_${tag}_`
  switch (kind) {
    case 'memory':
      return wastore.createMemoryStore()
    case 'sqlite':
      return wastore.createSqliteStore({ path: path.join(dir, `${tag}.sqlite`) })
    case 'postgres':
      return wastore.createPostgresStore({ pool: { connectionString: URLS.postgres, max: 8 }, tablePrefix: prefix })
    case 'mysql':
      return wastore.createMysqlStore({ pool: { connectionString: URLS.mysql, max: 8 }, tablePrefix: prefix })
    case 'redis':
      return wastore.createRedisStore({ url: URLS.redis, keyPrefix: `${prefix}:` })
    case 'mongo':
      return wastore.createMongoStore({ uri: URLS.mongo, database: 'wastore_bench', collectionPrefix: prefix })
    default:
      throw new Error(`unknown backend ${kind}`)
  }
}

function storeOn(b, extra = {}) {
  return wastore.createStore({
    backends: { b },
    providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'b'])),
    cacheProviders: Object.fromEntries(CACHES.map((d) => [d, 'b'])),
    ...extra,
  })
}

const record = (n) => ({ rootKey: new Uint8Array(32).fill(n & 0xff), sendChain: { index: n, key: new Uint8Array(32) }, prevSessions: [] })
const address = (i) => ({ user: `5511${900000000 + i}`, server: 's.whatsapp.net', device: i % 4 })

class MapSessionStore {
  constructor() {
    this.map = new Map()
  }
  async getSession(a) {
    return this.map.get(`${a.user}|${a.server ?? 's.whatsapp.net'}|${a.device}`) ?? null
  }
  async setSession(a, r) {
    this.map.set(`${a.user}|${a.server ?? 's.whatsapp.net'}|${a.device}`, r)
  }
}

/** ns per awaited getSession over `HITS` calls on 1,000 warm addresses. */
async function hitCost(sessionStore) {
  const addrs = Array.from({ length: 1000 }, (_, i) => address(i))
  for (const a of addrs) await sessionStore.setSession(a, record(1))
  for (let i = 0; i < 20_000; i += 1) await sessionStore.getSession(addrs[i % 1000]) // warm-up
  const t0 = performance.now()
  for (let i = 0; i < HITS; i += 1) {
    const v = await sessionStore.getSession(addrs[i % 1000])
    if (v === null) throw new Error('a warm address missed')
  }
  return ((performance.now() - t0) * 1e6) / HITS
}

async function durableWrites(st, concurrency) {
  const s = st.session(`w${concurrency}-${Math.random()}`)
  await s.session.setSession(address(99_999), record(0)) // connect and migrate outside the timing
  const before = st.stats().signalCache.transactions
  let writes = 0
  const end = performance.now() + WRITE_MS
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < end; n += 1) {
        await s.session.setSession(address(w), record(n))
        writes += 1
      }
    }),
  )
  const seconds = WRITE_MS / 1000
  const transactions = st.stats().signalCache.transactions - before
  return { writesPerSec: writes / seconds, writesPerTransaction: transactions ? writes / transactions : NaN }
}

async function ingest(st) {
  const s = st.session(`ingest-${Math.random()}`)
  await s.auth.load() // connect and migrate outside the timing
  const t0 = performance.now()
  const writes = []
  for (let i = 0; i < INGEST; i += 1) {
    writes.push(s.messages.upsert({ id: `m${i}`, threadJid: `t${i % 50}@g.us`, fromMe: i % 2 === 0, timestampMs: 1_700_000_000_000 + i, messageBytes: new Uint8Array(120) }))
  }
  await Promise.all(writes)
  const report = await s.flush(120_000)
  if (report.remaining !== 0) throw new Error(`${report.remaining} archive writes did not land`)
  const seconds = (performance.now() - t0) / 1000
  const listed = await s.messages.listByThread('t0@g.us', 50)
  if (listed.length !== 50) throw new Error(`listByThread returned ${listed.length}`)
  return INGEST / seconds
}

async function reachable(kind, dir) {
  if (kind === 'memory' || kind === 'sqlite') return null
  const b = backend(kind, dir, 'probe')
  const st = storeOn(b)
  try {
    await st.session('probe').auth.load()
    return null
  } catch (err) {
    return `${err.code}: ${err.message}`
  } finally {
    await st.destroy().catch(() => {})
  }
}

async function main() {
  const info = machineInfo()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-cache-bench-'))
  const kinds = (process.env.BENCH_BACKENDS || ALL.join(',')).split(',').map((k) => k.trim()).filter(Boolean)
  console.log(`signal-cache bench: ${info.cpu} x${info.cpus}, node ${info.node}, ${RUNS} runs${QUICK ? ' (quick)' : ''}`)
  const result = { benchmark: 'signal-cache', machine: info, settings: { runs: RUNS, writeMs: WRITE_MS, hits: HITS, ingest: INGEST, quick: QUICK }, skipped: {}, hit: null, writes: [], ingest: [] }
  try {
    // 1. cache hit vs Map
    const mapNs = []
    const hitNs = []
    for (let r = 0; r < RUNS; r += 1) {
      mapNs.push(await hitCost(new MapSessionStore()))
      const st = storeOn(backend('sqlite', dir, `hit${r}`))
      try {
        hitNs.push(await hitCost(st.session('hit').session))
        const stats = st.session('hit').stats().signalCache
        if (stats.backendReads > 1) throw new Error(`warm hits reached the backend ${stats.backendReads} times`)
      } finally {
        await st.destroy()
      }
    }
    const ratios = hitNs.map((h, i) => h / mapNs[i])
    result.hit = { mapNs: spread(mapNs), wastoreNs: spread(hitNs), ratio: spread(ratios) }
    console.log(`  cache hit: ${fmtSpread(result.hit.wastoreNs)} ns vs Map ${fmtSpread(result.hit.mapNs)} ns → ${fmtRatio(result.hit.ratio.median)}`)

    // 2 and 3, per backend
    for (const kind of kinds) {
      const why = await reachable(kind, dir)
      if (why) {
        result.skipped[kind] = why
        console.log(`  ${kind}: skipped (${why})`)
        continue
      }
      for (const c of CONCURRENCY) {
        const runs = []
        for (let r = 0; r < RUNS; r += 1) {
          const st = storeOn(backend(kind, dir, `w${c}_${r}`))
          try {
            runs.push(await durableWrites(st, c))
          } finally {
            await st.destroy()
          }
        }
        const row = { backend: kind, concurrency: c, writesPerSec: spread(runs.map((x) => x.writesPerSec)), writesPerTransaction: spread(runs.map((x) => x.writesPerTransaction)) }
        result.writes.push(row)
        console.log(`  ${kind} sync setSession c=${c}: ${fmtSpread(row.writesPerSec)} writes/s, ${row.writesPerTransaction.median.toFixed(1)} writes/transaction`)
      }
      const rates = []
      for (let r = 0; r < RUNS; r += 1) {
        const st = storeOn(backend(kind, dir, `i${r}`))
        try {
          rates.push(await ingest(st))
        } finally {
          await st.destroy()
        }
      }
      result.ingest.push({ backend: kind, messagesPerSec: spread(rates) })
      console.log(`  ${kind} archive ingest: ${fmtSpread(spread(rates))} messages/s`)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  write(result)
}

function write(result) {
  const outDir = path.join(__dirname, 'results')
  fs.mkdirSync(outDir, { recursive: true })
  fs.writeFileSync(path.join(outDir, 'signal-cache.json'), JSON.stringify(result, null, 2) + '\n')
  const growth = (kind) => {
    const rows = result.writes.filter((w) => w.backend === kind)
    const c1 = rows.find((w) => w.concurrency === 1)
    const c64 = rows.find((w) => w.concurrency === 64)
    return c1 && c64 ? c64.writesPerSec.median / c1.writesPerSec.median : NaN
  }
  const writeRows = result.writes.map((w) => [w.backend, String(w.concurrency), fmtSpread(w.writesPerSec), w.writesPerTransaction.median.toFixed(1)])
  const growthRows = [...new Set(result.writes.map((w) => w.backend))].map((k) => [k, fmtRatio(growth(k))])
  const h = result.hit
  const md = [
    '# Signal cache benchmark',
    '',
    'Generated by `npm run bench:cache` (`bench/signal-cache.js`). Medians of ' + result.settings.runs + ' runs, min–max in brackets.',
    '',
    machineMarkdown(result.machine),
    '',
    '## Cache hit vs a JS Map',
    '',
    '`await store.getSession(address)` on 1,000 warm addresses: wastore (SQLite backend, Signal cache on, the memoized object) against a JS class whose async `getSession` does a `Map.get` (the same contract, no durability).',
    '',
    renderMarkdownTable(['', 'ns per hit'], [['JS Map store', fmtSpread(h.mapNs)], ['wastore cache hit', fmtSpread(h.wastoreNs)], ['ratio (target ≤ 3x)', fmtSpread(h.ratio, fmtRatio)]]),
    '',
    "## Durable `setSession` ('sync': each write resolves after its commit)",
    '',
    'Each caller rewrites its own address in a loop; group commit shares transactions between callers that are in flight together.',
    '',
    renderMarkdownTable(['backend', 'concurrency', 'writes/s', 'writes per transaction'], writeRows),
    '',
    renderMarkdownTable(['backend', 'throughput at 64 ÷ at 1'], growthRows),
    '',
    '## Archive ingest (write-behind)',
    '',
    `${result.settings.ingest.toLocaleString('en-US')} \`messages.upsert\` calls (50 threads), timed until \`session.flush()\` reports nothing left; then \`listByThread(limit 50)\` is checked.`,
    '',
    renderMarkdownTable(['backend', 'messages/s'], result.ingest.map((r) => [r.backend, fmtSpread(r.messagesPerSec)])),
    '',
    Object.keys(result.skipped).length ? `Skipped (not reachable): ${Object.entries(result.skipped).map(([k, v]) => `${k} (${v})`).join('; ')}` : '',
    '',
  ].join('\n')
  fs.writeFileSync(path.join(outDir, 'signal-cache.md'), md)
  console.log('\n' + renderText(['backend', 'conc', 'writes/s', 'w/txn'], writeRows))
  console.log('\nwrote bench/results/signal-cache.json and bench/results/signal-cache.md')
}

main().catch((err) => {
  console.error('bench failed:', err && err.code ? `[${err.code}]` : '', err)
  process.exitCode = 1
})
