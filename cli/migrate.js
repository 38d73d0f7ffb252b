'use strict'
// wastore migrate: copies sessions from one backend to another, page by page.
//
// - Each session is copied as its canonical export (the stored bytes,
//   nothing decoded), `--batch` records per page, then its counts per record
//   kind are compared between source and target.
// - Progress is checkpointed in a state file after every page. The session
//   being copied is recorded *before* its first page is written, so an
//   interrupted run can always tell its own partial copy from data that was
//   there before. Importing is idempotent, so a page copied twice is harmless.
// - A session whose target counts already equal the source's is left alone:
//   a second run writes nothing. A target session holding other data is not
//   touched without --replace (exit 5).

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const { parseArgs, sessionList, positiveInt } = require('./args')
const { openBackend, explain, redact } = require('./backends')
const { UsageError, CliError, EXIT } = require('./errors')
const { Progress } = require('./progress')
const { allSessions, countRecords, total, addInto, differences, table } = require('./records')

const USAGE = `Usage:
  wastore migrate --from <backend> --to <backend> (--sessions <id,id,...> | --all) [options]

Copies every domain of the chosen sessions from one backend to another, e.g.
from SQLite to PostgreSQL. Values are copied as stored (encrypted values stay
encrypted). Stop the apps writing to these sessions while it runs.

An interrupted run resumes where it stopped when started again with the same
--from and --to (progress is kept in a state file). Sessions already copied
are verified and skipped: a second run writes nothing.

Options:
  --from <backend>        where the sessions are now (required)
  --to <backend>          where to copy them (required)
  --sessions <id,id,...>  the sessions to copy
  --all                   copy every session of --from
  --from-prefix <prefix>  table / key / collection prefix of --from, if not the default
  --to-prefix <prefix>    the same for --to
  --batch <n>             records per page, 1-10000 (default 1000)
  --state <file>          progress file (default ./.wastore-migrate-<id>.json);
                          removed when every session is copied and verified
  --replace               clear a target session that holds other data, then copy
  -h, --help              show this help

<backend>: sqlite:./wa.db | postgres://user:pass@host:5432/db | mysql://... |
           redis://host:6379 | mongodb://host:27017/db

Exit codes: 0 copied and verified, 1 failed, 2 bad usage, 3 a server is
unreachable, 4 a --sessions id has no data in --from, 5 counts differ or a
target session holds other data (nothing was overwritten).
`

const STATE_FORMAT = 'wastore-migrate-state'

/** Identifies one migration (the URLs are hashed: a state file never holds a password). */
function migrationKey(a) {
  const text = JSON.stringify([a.from, a['from-prefix'] ?? null, a.to, a['to-prefix'] ?? null])
  return crypto.createHash('sha256').update(text).digest('hex')
}

class StateFile {
  constructor(file, key, a) {
    this.file = file
    this.key = key
    this.data = { format: STATE_FORMAT, version: 1, key, from: redact(a.from), to: redact(a.to), done: [], current: null }
    if (fs.existsSync(file)) {
      let read
      try {
        read = JSON.parse(fs.readFileSync(file, 'utf8'))
      } catch (err) {
        throw new CliError(EXIT.FAILED, `the state file ${file} is not readable JSON (${err.message}); delete it to start over`)
      }
      if (read.format !== STATE_FORMAT || read.version !== 1 || !Array.isArray(read.done)) {
        throw new CliError(EXIT.FAILED, `${file} is not a wastore migrate state file; pass another --state or delete it`)
      }
      if (read.key !== key) {
        throw new CliError(
          EXIT.USAGE,
          `the state file ${file} belongs to another migration (${read.from} -> ${read.to}); pass another --state, or delete it if that migration is finished`
        )
      }
      this.data = read
    }
    this.done = new Set(this.data.done)
  }

  get resuming() {
    return this.done.size > 0 || this.data.current !== null
  }

  /** Where the copy of `sessionId` stopped: a cursor, null (from the start), or undefined (not started). */
  position(sessionId) {
    const c = this.data.current
    return c && c.sessionId === sessionId ? (c.after ?? null) : undefined
  }

  /** Durably records where the copy of `sessionId` is. */
  at(sessionId, after) {
    this.data.current = { sessionId, after }
    this.save(true)
  }

  finished(sessionId) {
    this.done.add(sessionId)
    this.data.done = [...this.done]
    if (this.data.current && this.data.current.sessionId === sessionId) this.data.current = null
    this.save(false)
  }

  save(sync) {
    const tmp = `${this.file}.tmp`
    const fd = fs.openSync(tmp, 'w')
    try {
      fs.writeSync(fd, `${JSON.stringify(this.data)}\n`)
      if (sync) fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, this.file)
  }

  remove() {
    fs.rmSync(this.file, { force: true })
    fs.rmSync(`${this.file}.tmp`, { force: true }) // left by a run killed while saving
  }
}

function parse(argv) {
  const a = parseArgs(argv, {
    valued: ['--from', '--to', '--sessions', '--from-prefix', '--to-prefix', '--batch', '--state'],
    flags: ['--all', '--replace']
  })
  if (a.flags.has('help')) return { help: true }
  if (a.positional.length) throw new UsageError(`unexpected argument '${a.positional[0]}'`)
  const v = a.values
  if (!v.from) throw new UsageError('--from <backend> is required (where the sessions are now)')
  if (!v.to) throw new UsageError('--to <backend> is required (where to copy them)')
  if (v.sessions === undefined && !a.flags.has('all')) throw new UsageError('choose the sessions: --sessions id,id or --all')
  if (v.sessions !== undefined && a.flags.has('all')) throw new UsageError('--sessions and --all exclude each other')
  if (v.from === v.to && v['from-prefix'] === v['to-prefix']) throw new UsageError('--from and --to are the same place')
  return {
    ...v,
    sessions: v.sessions === undefined ? null : sessionList(v.sessions, '--sessions'),
    batch: v.batch === undefined ? 1000 : positiveInt(v.batch, '--batch', 10_000),
    replace: a.flags.has('replace')
  }
}

/** Copies one session from `after` on; returns the records copied. */
async function copySession(ends, sessionId, after, batch, state, progress) {
  const { from, to, src, dst } = ends
  let copied = 0
  let cursor = after
  state.at(sessionId, cursor)
  for (;;) {
    const page = await src(from.exportRecords(sessionId, { after: cursor ?? undefined, limit: batch }))
    if (page.lines.length) await dst(to.importRecords(page.lines))
    copied += page.lines.length
    progress.advance(page.lines.length, sessionId)
    cursor = page.next ?? null // napi gives undefined for the last page
    if (cursor === null) return copied
    state.at(sessionId, cursor)
  }
}

async function run(a, io, wastore) {
  const stateFile = path.resolve(a.state ?? `.wastore-migrate-${migrationKey(a).slice(0, 12)}.json`)
  const state = new StateFile(stateFile, migrationKey(a), a)
  const from = openBackend(wastore, a.from, { flag: '--from', prefix: a['from-prefix'], mustExist: true })
  let to
  try {
    to = openBackend(wastore, a.to, { flag: '--to', prefix: a['to-prefix'] })
  } catch (err) {
    await from.destroy().catch(() => {})
    throw err
  }
  // Connection failures name the side that failed.
  const side = (target, flag) => (p) => p.catch((err) => Promise.reject(explain(err, target, flag)))
  const src = side(a.from, '--from')
  const dst = side(a.to, '--to')
  try {
    const ids = a.sessions ?? (await src(allSessions(from)))
    const sourceCounts = new Map()
    for (const id of ids) {
      const counts = await src(countRecords(from, id))
      if (a.sessions && total(counts) === 0) {
        throw new CliError(EXIT.NOT_FOUND, `session '${id}' has no data in --from ${redact(a.from)}; list its sessions with: wastore sessions ${redact(a.from)}`)
      }
      sourceCounts.set(id, counts)
    }
    await dst(to.listSessions({ limit: 1 })) // reach --to before copying anything
    const pending = state.data.current && !ids.includes(state.data.current.sessionId) ? state.data.current.sessionId : null
    if (pending !== null) io.stderr.write(`wastore: note: session '${pending}' was being copied when the last run stopped; include it to finish it\n`)

    const records = [...sourceCounts.values()].reduce((n, c) => n + total(c), 0)
    const progress = new Progress(io.stderr, { total: records, units: ids.length })
    if (state.resuming) progress.line(`resuming from ${stateFile} (${state.done.size} sessions done)`)
    const totals = new Map()
    const problems = []
    let copiedSessions = 0
    let copiedRecords = 0
    for (const id of ids) {
      const source = sourceCounts.get(id)
      let target = await dst(countRecords(to, id))
      let after = state.position(id)
      let diff = differences(source, target)
      if (diff.length === 0) {
        // Already there (copied by an earlier run, or the state file was removed).
        if (!state.done.has(id)) state.finished(id)
        progress.advance(total(source), id)
        progress.finish(`${id}: already copied, ${total(source)} records verified`)
        addInto(totals, source)
        continue
      }
      const ours = after !== undefined
      if (ours && after !== null) progress.advance(Math.min(total(target), total(source)), id) // copied before the interruption
      if (!ours && total(target) > 0) {
        if (!a.replace) {
          const what = state.done.has(id) ? 'changed since this migration copied it' : 'already holds data this migration did not write'
          problems.push(`session '${id}': the target ${what} (${describe(diff)}); pass --replace to clear it and copy again`)
          progress.advance(total(source), id)
          progress.finish(`${id}: skipped, target differs`)
          continue
        }
        after = null
        state.at(id, after) // claimed before the clear: an interrupted clear is ours to finish
        await dst(to.clearSession(id))
      } else if (ours && after === null && a.replace) await dst(to.clearSession(id)) // a clear that may have been cut short
      const n = await copySession({ from, to, src, dst }, id, after ?? null, a.batch, state, progress)
      target = await dst(countRecords(to, id))
      diff = differences(source, target)
      if (diff.length) {
        problems.push(`session '${id}': counts differ after the copy (${describe(diff)})`)
        progress.finish(`${id}: copied ${n} records, COUNTS DIFFER`)
        continue
      }
      state.finished(id)
      copiedSessions += 1
      copiedRecords += n
      addInto(totals, source)
      progress.finish(`${id}: copied ${n} records, counts verified`)
    }
    progress.end()
    const skipped = ids.length - copiedSessions - problems.length
    io.stdout.write(
      `migrated ${ids.length} session(s) from ${redact(a.from)} to ${redact(a.to)}: ` +
        `${copiedSessions} copied (${copiedRecords} records), ${skipped} already there, ${problems.length} with problems\n`
    )
    if (totals.size) {
      const rows = [['domain', 'records (source = target)'], ...[...totals.values()].map((d) => [d.domain, d.records])]
      io.stdout.write(`${table(rows)}\n`)
    }
    if (problems.length) {
      for (const p of problems) io.stderr.write(`wastore: ${p}\n`)
      throw new CliError(EXIT.MISMATCH, `${problems.length} session(s) not migrated (see above); the state file ${stateFile} is kept`)
    }
    if (pending === null) state.remove()
  } finally {
    await Promise.allSettled([from.destroy(), to.destroy()])
  }
}

function describe(diff) {
  const shown = diff.slice(0, 4).map((d) => `${d.kind}: source ${d.source}, target ${d.target}`)
  return shown.join('; ') + (diff.length > 4 ? `; ${diff.length - 4} more kinds` : '')
}

module.exports = { USAGE, parse, run, summary: 'copy sessions from one backend to another (resumable, verified)' }
