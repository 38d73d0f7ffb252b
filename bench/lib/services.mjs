// The shared database servers (the same ones the tests use) and the names a
// bench run may create there. Everything a run creates is named
// `wsbench_<pid>_...`: a child removes its own names when it ends, and the
// runner sweeps every `wsbench_` name before and after a run, so a crashed
// child leaves nothing behind. Nothing else in those databases is touched.

import mysql from 'mysql2/promise'
import pg from 'pg'
import { createClient } from 'redis'

export const URLS = {
  postgres: process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test',
  mysql: process.env.WASTORE_TEST_MYSQL_URL || 'mysql://wastore@127.0.0.1:3306/wastore_test',
  redis: process.env.WASTORE_TEST_REDIS_URL || 'redis://127.0.0.1:6379/0',
}

export const NAME_ROOT = 'wsbench_'

/** A name prefix unique to this process: `wsbench_<pid>_<random>_`. */
export function uniqueTag() {
  return `${NAME_ROOT}${process.pid}_${Math.random().toString(36).slice(2, 8)}_`
}

/** Runs `fn(client)` on one short-lived PostgreSQL connection. */
export async function withPg(fn) {
  const client = new pg.Client({ connectionString: URLS.postgres })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function withMysql(fn) {
  const conn = await mysql.createConnection({ uri: URLS.mysql, multipleStatements: false })
  try {
    return await fn(conn)
  } finally {
    await conn.end()
  }
}

export async function withRedis(fn) {
  const client = createClient({ url: URLS.redis })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.quit()
  }
}

const likePattern = (prefix) => `${prefix.replace(/[\\_%]/g, (c) => `\\${c}`)}%`

export const SERVERS = ['postgres', 'mysql', 'redis']

/** The servers a store name uses (`wastore-postgres`, `mysql-baileys`, `floor-redis`, …): none for SQLite, files and memory. */
export const serversOf = (store) => SERVERS.filter((server) => store.includes(server))

/**
 * Drops every table, schema and Redis key whose name starts with `prefix`
 * (which must start with `wsbench_`) on `servers`.
 */
export async function removeNamed(prefix, servers = SERVERS) {
  if (!prefix.startsWith(NAME_ROOT)) throw new Error(`refusing to remove names outside ${NAME_ROOT}: ${prefix}`)
  const problems = []
  if (servers.includes('postgres')) await withPg(async (c) => {
    const like = likePattern(prefix)
    const tables = await c.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1", [like])
    for (const { tablename } of tables.rows) await c.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`)
    const schemas = await c.query('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [like])
    for (const { nspname } of schemas.rows) await c.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`)
  }).catch((err) => problems.push(`postgres: ${err.message}`))
  if (servers.includes('mysql')) await withMysql(async (c) => {
    const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [likePattern(prefix)])
    for (const { t } of rows) await c.query(`DROP TABLE IF EXISTS \`${t}\``)
  }).catch((err) => problems.push(`mysql: ${err.message}`))
  if (servers.includes('redis')) await withRedis(async (r) => {
    let batch = []
    for await (const key of r.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      batch.push(key)
      if (batch.length === 1000) {
        await r.unlink(batch)
        batch = []
      }
    }
    if (batch.length) await r.unlink(batch)
  }).catch((err) => problems.push(`redis: ${err.message}`))
  return problems
}
