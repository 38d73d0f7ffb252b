// Workload 3: message archive ingest, then reads.
//   wastore-<backend>:  zapo's `messages.upsert` through createStore's
//                       write-behind, timed until `session.flush()` leaves nothing
//                       pending; then `listByThread(limit 50)` latency.
//   zaileys-<backend>:  zaileys' own message store, `saveMessage` with 16 in
//                       flight (it has no batch API); then `listMessages(limit 50)`.
//   floor-<backend>:    the raw driver (peers/floors.mjs).
// One busy group chat gets every 5th message, the rest are spread over 100
// chats. Counts are checked after ingest.

import path from 'node:path'

import * as baileys from '@whiskeysockets/baileys'
import pg from 'pg'
import { createClient } from 'redis'
import { PostgresMessageStore, RedisMessageStore, SqliteMessageStore } from 'zaileys'

import { inFlight } from '../lib/concurrency.mjs'
import { URLS, withPg } from '../lib/services.mjs'
import { profiled, selfOf, topSelf } from '../lib/profiler.mjs'
import { msSince, percentile } from '../lib/stats.mjs'
import { wastoreStore } from '../peers/auth-stores.mjs'
import { FLOORS } from '../peers/floors.mjs'
import { HOT_THREAD, threadOf, waMessage } from './fixtures.mjs'

const IN_FLIGHT = 16
const READS = 100
const PAGE = 50

/** The messages, their stored bytes (the WebMessageInfo protobuf), and per-chat counts. */
function corpus(count) {
  const messages = Array.from({ length: count }, (_, i) => waMessage(i))
  const rows = messages.map((m, i) => ({ id: m.key.id, thread: threadOf(i), fromMe: m.key.fromMe, ts: (1_700_000_000 + i) * 1000, bytes: baileys.proto.WebMessageInfo.encode(m).finish() }))
  const perThread = new Map()
  for (const r of rows) perThread.set(r.thread, (perThread.get(r.thread) ?? 0) + 1)
  const quiet = [...perThread.keys()].find((t) => t !== HOT_THREAD)
  return { messages, rows, perThread, quiet, newestHot: rows.findLast((r) => r.thread === HOT_THREAD) }
}

/** p50 / p99 of `READS` awaited calls of `read()`. */
async function latency(read) {
  const samples = []
  for (let i = 0; i < READS; i++) {
    const t0 = process.hrtime.bigint()
    await read()
    samples.push(msSince(t0))
  }
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) }
}

async function wastoreArchive(kind, c, ctx, spec) {
  const st = wastoreStore(kind, ctx)
  try {
    const s = st.session('archive')
    await s.auth.load() // connect and migrate outside the timing
    const ingest = async () => {
      await Promise.all(c.rows.map((r) => s.messages.upsert({ id: r.id, threadJid: r.thread, fromMe: r.fromMe, timestampMs: r.ts, messageBytes: r.bytes })))
      return s.flush(300_000)
    }
    const t0 = process.hrtime.bigint()
    const profile = spec.profile ? await profiled(ingest) : null
    const { remaining } = profile ? profile.value : await ingest()
    const ingestMs = msSince(t0)
    if (remaining !== 0) throw new Error(`${remaining} archive writes did not land`)
    const first = await s.messages.listByThread(HOT_THREAD, PAGE)
    if (first.length !== Math.min(PAGE, c.perThread.get(HOT_THREAD)) || first[0].id !== c.newestHot.id) throw new Error('listByThread: the first page of the busy chat is not its newest messages')
    let walked = 0
    let cursor
    do {
      const page = await s.messages.listPageByThread(HOT_THREAD, { limit: 500, cursor })
      walked += page.messages.length
      cursor = page.nextCursor
    } while (cursor !== undefined)
    if (walked !== c.perThread.get(HOT_THREAD)) throw new Error(`the busy chat holds ${walked} messages, expected ${c.perThread.get(HOT_THREAD)}`)
    return {
      ingestMs,
      busyChat: await latency(() => s.messages.listByThread(HOT_THREAD, PAGE)),
      quietChat: await latency(() => s.messages.listByThread(c.quiet, PAGE)),
      ...(profile && { profile: { sampledMs: profile.totalMs, idleMs: selfOf(profile, /^\(idle\)/), gcMs: selfOf(profile, /^\(garbage collector\)/), top: topSelf(profile, 12).map((t) => ({ ...t, msPerMsg: t.ms / c.rows.length })) } }),
    }
  } finally {
    await st.destroy()
  }
}

/** zaileys' message store of `kind`, on this run's names; `release` frees what it opened. */
async function zaileysMessageStore(kind, ctx) {
  if (kind === 'sqlite') return { store: new SqliteMessageStore({ database: path.join(ctx.dir, 'zaileys-messages.db') }), release: async () => {} }
  if (kind === 'postgres') {
    const schema = `${ctx.tag}messages`
    await withPg((c) => c.query(`CREATE SCHEMA "${schema}"`))
    const pool = new pg.Pool({ connectionString: URLS.postgres, max: 10, options: `-c search_path="${schema}"` })
    return { store: new PostgresMessageStore({ pool }), release: () => pool.end() }
  }
  if (kind === 'redis') {
    const client = createClient({ url: URLS.redis })
    await client.connect()
    return { store: new RedisMessageStore({ client, namespace: `${ctx.tag}messages` }), release: () => client.quit() }
  }
  throw new Error(`zaileys has no ${kind} message store`)
}

async function zaileysArchive(kind, c, ctx) {
  const { store, release } = await zaileysMessageStore(kind, ctx)
  try {
    await store.getMessage({ remoteJid: HOT_THREAD, id: 'warm-up', fromMe: false }) // connect and migrate outside the timing
    const t0 = process.hrtime.bigint()
    await inFlight(c.messages, IN_FLIGHT, (m) => store.saveMessage(m))
    const ingestMs = msSince(t0)
    const quietCount = (await store.listMessages(c.quiet, { limit: 100_000 })).length
    if (quietCount !== c.perThread.get(c.quiet)) throw new Error(`listMessages returned ${quietCount} messages of a chat holding ${c.perThread.get(c.quiet)}`)
    const first = await store.listMessages(HOT_THREAD, { limit: PAGE })
    return {
      ingestMs,
      busyChat: await latency(() => store.listMessages(HOT_THREAD, { limit: PAGE })),
      quietChat: await latency(() => store.listMessages(c.quiet, { limit: PAGE })),
      // A peer's wrong answer is recorded as found, not as a failure of this bench.
      findings: first[0]?.key.id === c.newestHot.id ? [] : ['listMessages(limit 50) on the busy chat does not return its newest messages'],
    }
  } finally {
    await store.close().catch(() => {})
    await release()
  }
}

async function floorArchive(kind, c, ctx) {
  const floor = await FLOORS[kind](ctx)
  try {
    const t0 = process.hrtime.bigint()
    await floor.insert(c.rows)
    const ingestMs = msSince(t0)
    const n = await floor.count()
    if (n !== c.rows.length) throw new Error(`the floor table holds ${n} rows, expected ${c.rows.length}`)
    return { ingestMs }
  } finally {
    await floor.close()
  }
}

const IMPLS = { wastore: wastoreArchive, zaileys: zaileysArchive, floor: floorArchive }

export async function archive(spec, ctx) {
  const { store, messages } = spec
  const [impl, kind] = store.split('-')
  const c = corpus(messages)
  const result = await IMPLS[impl](kind, c, ctx, spec)
  return { messagesPerSec: (messages * 1000) / result.ingestMs, ...result }
}
