#!/usr/bin/env node
// `npm run bench` — in-process store-operation benchmark.
//
// Runs the same Signal-session workload against:
//   - map     a plain JS Map (the floor: the least work a JS store can do;
//             async methods that store the record object by reference)
//   - memory  wastore, memory providers (createStore() with no backends)
//   - sqlite  wastore, embedded SQLite backend (createSqliteStore, temp file)
// Workloads: a getSession+setSession pair on one address, setSessionsBatch(100)
// and getSessionsBatch(100), each at concurrency 1 and 64 (that many callers in
// flight on one session). Prints a table (ops/s, p50, p99, ratio vs the Map
// floor) and writes bench/results/store-ops.{json,md}.
//
// Env: BENCH_MS (measured time per case, default 1200), BENCH_WARMUP_MS (default 200),
//      BENCH_IMPLS (comma list, default map,memory,sqlite).
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const { machineInfo, fmtNum, fmtMs, fmtRatio } = require('./lib')

const { createStore, createSqliteStore } = require('..')

const MEASURE_MS = Number(process.env.BENCH_MS || 1200)
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS || 200)
const ADDRESSES = 2000 // pre-populated address pool
const BATCH = 100
const CONCURRENCY = [1, 64]
const MAX_SAMPLES = 200_000

const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const CACHES = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

// ------------------------------------------------------------------ fixtures --
const bytes = (n) => new Uint8Array(crypto.randomBytes(n))
// Shaped like zapo's SignalSessionRecord: a nested object graph with Uint8Arrays.
function sessionRecord(n) {
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
const addresses = Array.from({ length: ADDRESSES }, (_, i) => ({ user: `5511${String(900000000 + i)}`, server: 's.whatsapp.net', device: i % 4 }))
const records = Array.from({ length: 64 }, (_, i) => sessionRecord(i))

// Deterministic xorshift so every implementation sees the same address sequence.
function rng(seed) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

// --------------------------------------------------------------- Map floor --
class MapSessionStore {
  constructor() {
    this.sessions = new Map()
  }
  static key(a) {
    return `${a.user}|${a.server ?? 's.whatsapp.net'}|${a.device}`
  }
  async getSession(a) {
    return this.sessions.get(MapSessionStore.key(a)) ?? null
  }
  async setSession(a, rec) {
    this.sessions.set(MapSessionStore.key(a), rec)
  }
  async getSessionsBatch(addrs) {
    return addrs.map((a) => this.sessions.get(MapSessionStore.key(a)) ?? null)
  }
  async setSessionsBatch(entries) {
    for (const { address, session } of entries) this.sessions.set(MapSessionStore.key(address), session)
  }
}

// -------------------------------------------------------------- harness --
async function openImpl(name, dir) {
  if (name === 'map') return { session: new MapSessionStore(), close: async () => {} }
  let store
  if (name === 'memory') {
    store = createStore()
  } else {
    const sqlite = createSqliteStore({ path: path.join(dir, 'bench.sqlite') })
    store = createStore({
      backends: { sqlite },
      providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'sqlite'])),
      cacheProviders: Object.fromEntries(CACHES.map((d) => [d, 'sqlite'])),
    })
  }
  return { session: store.session('bench').session, close: () => store.destroy() }
}

const WORKLOADS = {
  'get+setSession': {
    records: 1,
    op: (s, r) => {
      const a = addresses[Math.floor(r() * ADDRESSES)]
      return s.getSession(a).then(() => s.setSession(a, records[Math.floor(r() * records.length)]))
    },
  },
  'setSessionsBatch(100)': {
    records: BATCH,
    op: (s, r) => {
      const start = Math.floor(r() * (ADDRESSES - BATCH))
      const entries = []
      for (let i = 0; i < BATCH; i++) entries.push({ address: addresses[start + i], session: records[(start + i) % records.length] })
      return s.setSessionsBatch(entries)
    },
  },
  'getSessionsBatch(100)': {
    records: BATCH,
    op: (s, r) => {
      const start = Math.floor(r() * (ADDRESSES - BATCH))
      return s.getSessionsBatch(addresses.slice(start, start + BATCH))
    },
  },
}

// Runs `concurrency` callers in a loop for warm-up + measure time; returns ops/s
// and latency percentiles. Phases are decided by the clock, not by timers: a
// store whose promises settle as microtasks (the Map floor) would starve timers.
async function runCase(session, workload, concurrency) {
  const samples = new Float64Array(MAX_SAMPLES)
  let n = 0
  let ops = 0
  const measureStart = performance.now() + WARMUP_MS
  const measureEnd = measureStart + MEASURE_MS
  let lastEnd = measureStart
  const worker = async (id) => {
    const r = rng(0x9e3779b9 ^ (id * 7919))
    for (;;) {
      const t0 = performance.now()
      if (t0 >= measureEnd) return
      await workload.op(session, r)
      if (t0 >= measureStart) {
        const t1 = performance.now()
        ops++
        if (n < MAX_SAMPLES) samples[n++] = t1 - t0
        if (t1 > lastEnd) lastEnd = t1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)))
  const seconds = (lastEnd - measureStart) / 1000
  const sorted = samples.subarray(0, n).sort()
  const pct = (p) => (n ? sorted[Math.min(n - 1, Math.floor((p / 100) * n))] : NaN)
  return { ops, seconds, opsPerSec: seconds > 0 ? ops / seconds : NaN, p50Ms: pct(50), p99Ms: pct(99) }
}

// ---------------------------------------------------------------- output --

function table(rows) {
  const header = ['workload', 'conc', 'impl', 'ops/s', 'records/s', 'p50 ms', 'p99 ms', 'vs map']
  const body = rows.map((r) => [r.workload, String(r.concurrency), r.impl, fmtNum(r.opsPerSec), fmtNum(r.recordsPerSec), fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtRatio(r.vsMap)])
  return { header, body }
}

function renderText({ header, body }) {
  const w = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)))
  const line = (r) => r.map((v, c) => (c < 3 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  ')
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

function renderMarkdown(info, t) {
  const row = (r) => `| ${r.join(' | ')} |`
  return [
    '# store-ops benchmark',
    '',
    'Generated by `npm run bench` (`bench/store-ops.js`). In-process; one store session; Signal session records',
    'shaped like zapo\'s `SignalSessionRecord` (nested objects with `Uint8Array`s). `ops/s` counts calls',
    '(a `get+setSession` op is one get followed by one set on the same address); `vs map` is ops/s divided by',
    'the plain JS `Map` floor\'s ops/s for the same workload and concurrency (higher is better; the floor',
    'stores objects by reference and never serializes, so values below 1 are expected).',
    '',
    `- date: ${info.date}`,
    `- cpu: ${info.cpu} (${info.cpus} logical CPUs), ${info.memoryGiB} GiB RAM`,
    `- os: ${info.os} (1-min load average at start: ${info.loadAvg1m})`,
    `- node: ${info.node}`,
    `- wastore: ${info.wastore}${info.commit ? ` (commit ${info.commit})` : ''}`,
    `- measured ${MEASURE_MS} ms per case after ${WARMUP_MS} ms warm-up`,
    '',
    row(t.header),
    row(t.header.map((_, c) => (c < 3 ? '---' : '---:'))),
    ...t.body.map(row),
    '',
  ].join('\n')
}

// ------------------------------------------------------------------ main --
async function main() {
  const info = machineInfo()
  console.log(`store-ops bench: ${info.cpu} x${info.cpus}, node ${info.node}, ${MEASURE_MS} ms/case`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-bench-'))
  const impls = (process.env.BENCH_IMPLS || 'map,memory,sqlite').split(',').map((x) => x.trim()).filter(Boolean)
  for (const x of impls) if (!['map', 'memory', 'sqlite'].includes(x)) throw new Error(`BENCH_IMPLS: unknown implementation '${x}' (use map, memory, sqlite)`)
  const results = []
  const started = performance.now()
  try {
    for (const implName of impls) {
      const impl = await openImpl(implName, dir)
      try {
        // Pre-populate every address so reads hit.
        for (let i = 0; i < ADDRESSES; i += BATCH) {
          await impl.session.setSessionsBatch(addresses.slice(i, i + BATCH).map((address, k) => ({ address, session: records[(i + k) % records.length] })))
        }
        for (const [workload, spec] of Object.entries(WORKLOADS)) {
          for (const concurrency of CONCURRENCY) {
            const r = await runCase(impl.session, spec, concurrency)
            results.push({ workload, concurrency, impl: implName, ...r, recordsPerSec: r.opsPerSec * spec.records })
            process.stdout.write(`  ${implName.padEnd(6)} ${workload.padEnd(22)} c=${String(concurrency).padEnd(3)} ${fmtNum(r.opsPerSec).padStart(10)} ops/s\n`)
          }
        }
      } finally {
        await impl.close()
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }

  // Ratios vs the Map floor; order rows by workload, concurrency, impl.
  for (const r of results) {
    const floor = results.find((x) => x.impl === 'map' && x.workload === r.workload && x.concurrency === r.concurrency)
    r.vsMap = floor ? r.opsPerSec / floor.opsPerSec : NaN
  }
  const order = Object.keys(WORKLOADS)
  results.sort((a, b) => order.indexOf(a.workload) - order.indexOf(b.workload) || a.concurrency - b.concurrency || impls.indexOf(a.impl) - impls.indexOf(b.impl))

  const t = table(results)
  console.log('\n' + renderText(t))

  const outDir = path.join(__dirname, 'results')
  fs.mkdirSync(outDir, { recursive: true })
  const json = { benchmark: 'store-ops', machine: info, settings: { measureMs: MEASURE_MS, warmupMs: WARMUP_MS, addresses: ADDRESSES, batch: BATCH, concurrency: CONCURRENCY }, results }
  fs.writeFileSync(path.join(outDir, 'store-ops.json'), JSON.stringify(json, null, 2) + '\n')
  fs.writeFileSync(path.join(outDir, 'store-ops.md'), renderMarkdown(info, t))
  console.log(`\nwrote bench/results/store-ops.json and bench/results/store-ops.md (${((performance.now() - started) / 1000).toFixed(1)} s)`)
}

main().catch((err) => {
  console.error('bench failed:', err && err.code ? `[${err.code}]` : '', err)
  process.exitCode = 1
})
