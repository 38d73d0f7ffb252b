'use strict'
// wastore sessions / wastore stats: what a backend holds.

const { parseArgs } = require('./args')
const { openBackend, explain, redact } = require('./backends')
const { UsageError, CliError, EXIT } = require('./errors')
const { allSessions, countRecords, total, byDomain, addInto, formatBytes, table } = require('./records')

const BACKEND_HELP = `<backend>: sqlite:./wa.db | postgres://user:pass@host:5432/db | mysql://... |
           redis://host:6379 | mongodb://host:27017/db`

const SESSIONS_USAGE = `Usage:
  wastore sessions <backend> [--prefix <prefix>] [--json]

Lists the session ids holding data, with their record counts per domain
(domains without records are left out).

Options:
  --prefix <prefix>  table / key / collection prefix, if not the default
  --json             one JSON object: { sessions: [{ sessionId, records, domains: { name: n } }] }
  -h, --help         show this help

${BACKEND_HELP}

Exit codes: 0 listed, 1 failed, 2 bad usage, 3 the server is unreachable,
4 the SQLite file does not exist.
`

const STATS_USAGE = `Usage:
  wastore stats <backend> [--session <id>] [--prefix <prefix>] [--json]

Record counts and sizes per domain, over every session or one. Sizes are the
bytes of the stored binary values (n/a where the backend cannot sum them
cheaply, e.g. Redis).

Options:
  --session <id>     only this session
  --prefix <prefix>  table / key / collection prefix, if not the default
  --json             one JSON object: { sessions, records, domains: [{ domain, records, bytes }] }
  -h, --help         show this help

${BACKEND_HELP}

Exit codes: 0 done, 1 failed, 2 bad usage, 3 the server is unreachable,
4 --session has no data (or the SQLite file does not exist).
`

function parse(argv, what) {
  const a = parseArgs(argv, { valued: what === 'stats' ? ['--prefix', '--session'] : ['--prefix'], flags: ['--json'] })
  if (a.flags.has('help')) return { help: true }
  const [backend, extra] = a.positional
  if (!backend) throw new UsageError(`${what} needs the backend to read, e.g. wastore ${what} sqlite:./wa.db`)
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  return { backend, prefix: a.values.prefix, session: a.values.session, json: a.flags.has('json') }
}

async function withBackend(wastore, a, fn) {
  const backend = openBackend(wastore, a.backend, { flag: 'backend', prefix: a.prefix, mustExist: true })
  try {
    return await fn(backend).catch((err) => Promise.reject(explain(err, a.backend, 'backend')))
  } finally {
    await backend.destroy().catch(() => {})
  }
}

async function sessions(a, io, wastore) {
  await withBackend(wastore, a, async (backend) => {
    const ids = await allSessions(backend)
    const rows = []
    for (const sessionId of ids) {
      const domains = byDomain(await countRecords(backend, sessionId)).filter((d) => d.records > 0)
      rows.push({ sessionId, records: domains.reduce((n, d) => n + d.records, 0), domains })
    }
    if (a.json) {
      const out = rows.map((r) => ({ ...r, domains: Object.fromEntries(r.domains.map((d) => [d.domain, d.records])) }))
      io.stdout.write(`${JSON.stringify({ sessions: out }, null, 2)}\n`)
      return
    }
    if (!rows.length) {
      io.stdout.write(`no sessions in ${redact(a.backend)}\n`)
      return
    }
    for (const r of rows) {
      io.stdout.write(`${r.sessionId}\t${r.records} records\t${r.domains.map((d) => `${d.domain}:${d.records}`).join(' ')}\n`)
    }
  })
}

async function stats(a, io, wastore) {
  await withBackend(wastore, a, async (backend) => {
    const ids = a.session === undefined ? await allSessions(backend) : [a.session]
    const totals = new Map()
    for (const id of ids) {
      const counts = await countRecords(backend, id)
      if (a.session !== undefined && total(counts) === 0) {
        throw new CliError(EXIT.NOT_FOUND, `session '${id}' has no data in ${redact(a.backend)}; list its sessions with: wastore sessions ${redact(a.backend)}`)
      }
      addInto(totals, counts)
    }
    const domains = [...totals.values()]
    const records = domains.reduce((n, d) => n + d.records, 0)
    if (a.json) {
      io.stdout.write(`${JSON.stringify({ sessions: ids.length, records, domains }, null, 2)}\n`)
      return
    }
    const scope = a.session === undefined ? `${ids.length} session(s)` : `session '${a.session}'`
    io.stdout.write(`${redact(a.backend)}: ${scope}, ${records} records\n`)
    if (domains.length) {
      const rows = [['domain', 'records', 'bytes'], ...domains.map((d) => [d.domain, d.records, formatBytes(d.bytes)])]
      io.stdout.write(`${table(rows)}\n`)
    }
  })
}

module.exports = {
  sessions: { USAGE: SESSIONS_USAGE, parse: (argv) => parse(argv, 'sessions'), run: sessions, summary: 'list session ids with record counts per domain' },
  stats: { USAGE: STATS_USAGE, parse: (argv) => parse(argv, 'stats'), run: stats, summary: 'record counts and sizes per domain' }
}
