// Raw-driver floors: the fastest a Node process can put the archive's rows
// into each backend, with the drivers people use. Each floor writes the same
// logical rows as wastore's archive (session, id, thread, fromMe, timestamp,
// message bytes) into a table keyed by (session, id) with a by-thread index,
// so the only difference left is the store itself.
//   sqlite:   better-sqlite3, one transaction, one prepared INSERT, WAL + synchronous=NORMAL (wastore's defaults)
//   postgres: pg, multi-row INSERT of 500 rows per statement
//   mysql:    mysql2, multi-row INSERT of 500 rows per statement, InnoDB
//   redis:    node-redis, one pipeline per 1,000 messages: a hash per message plus the thread's sorted set

import path from 'node:path'

import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { createClient } from 'redis'

import { URLS } from '../lib/services.mjs'

const CHUNK = 500
const chunks = (rows, size = CHUNK) => Array.from({ length: Math.ceil(rows.length / size) }, (_, i) => rows.slice(i * size, (i + 1) * size))

/** Each floor: `open(ctx)` → `{ insert(rows), count(), close() }`; a row is `{ id, thread, fromMe, ts, bytes }`. */
export const FLOORS = {
  async sqlite(ctx) {
    const db = new Database(path.join(ctx.dir, 'floor.sqlite'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec('CREATE TABLE m (session TEXT NOT NULL, id TEXT NOT NULL, thread TEXT NOT NULL, from_me INTEGER NOT NULL, ts INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (session, id))')
    db.exec('CREATE INDEX m_thread ON m (session, thread, ts)')
    const insert = db.prepare('INSERT INTO m VALUES (?, ?, ?, ?, ?, ?)')
    const all = db.transaction((rows) => {
      for (const r of rows) insert.run('bench', r.id, r.thread, r.fromMe ? 1 : 0, r.ts, r.bytes)
    })
    return { insert: async (rows) => all(rows), count: async () => db.prepare('SELECT count(*) AS n FROM m').get().n, close: async () => db.close() }
  },

  async postgres(ctx) {
    const client = new pg.Client({ connectionString: URLS.postgres })
    await client.connect()
    const table = `${ctx.tag}floor`
    await client.query(`CREATE TABLE "${table}" (session text NOT NULL, id text NOT NULL, thread text NOT NULL, from_me boolean NOT NULL, ts bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (session, id))`)
    await client.query(`CREATE INDEX ON "${table}" (session, thread, ts)`)
    return {
      async insert(rows) {
        for (const part of chunks(rows)) {
          const values = []
          const params = []
          for (const r of part) {
            const k = params.length
            values.push(`($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}, $${k + 5}, $${k + 6})`)
            params.push('bench', r.id, r.thread, r.fromMe, r.ts, Buffer.from(r.bytes))
          }
          await client.query(`INSERT INTO "${table}" VALUES ${values.join(', ')}`, params)
        }
      },
      count: async () => Number((await client.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0].n),
      close: () => client.end(),
    }
  },

  async mysql(ctx) {
    const conn = await mysql.createConnection({ uri: URLS.mysql })
    const table = `${ctx.tag}floor`
    await conn.query(`CREATE TABLE \`${table}\` (session VARCHAR(64) NOT NULL, id VARCHAR(160) NOT NULL, thread VARCHAR(160) NOT NULL, from_me TINYINT NOT NULL, ts BIGINT NOT NULL, data LONGBLOB NOT NULL, PRIMARY KEY (session, id), KEY (session, thread, ts)) ENGINE=InnoDB`)
    return {
      async insert(rows) {
        for (const part of chunks(rows)) {
          await conn.query(`INSERT INTO \`${table}\` VALUES ?`, [part.map((r) => ['bench', r.id, r.thread, r.fromMe ? 1 : 0, r.ts, Buffer.from(r.bytes)])])
        }
      },
      count: async () => Number((await conn.query(`SELECT count(*) AS n FROM \`${table}\``))[0][0].n),
      close: () => conn.end(),
    }
  },

  async redis(ctx) {
    const client = createClient({ url: URLS.redis })
    await client.connect()
    const key = (kind, part) => `${ctx.tag}floor:${kind}:${part}`
    return {
      async insert(rows) {
        for (const part of chunks(rows, 1000)) {
          const pipeline = client.multi()
          for (const r of part) {
            pipeline.hSet(key('m', r.id), { t: r.thread, f: r.fromMe ? '1' : '0', ts: String(r.ts), d: Buffer.from(r.bytes) })
            pipeline.zAdd(key('t', r.thread), { score: r.ts, value: r.id })
          }
          await pipeline.execAsPipeline()
        }
      },
      async count() {
        let n = 0
        for await (const _ of client.scanIterator({ MATCH: key('m', '*'), COUNT: 1000 })) n++
        return n
      },
      close: () => client.quit(),
    }
  },
}
