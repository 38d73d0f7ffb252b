'use strict'
// Session listing and record counts over a backend's snapshot API.

const PAGE = 1000

/** Every session id of `backend`, byte-wise ascending. */
async function allSessions(backend) {
  const out = []
  for (;;) {
    const page = await backend.listSessions({ after: out.length ? out[out.length - 1] : undefined, limit: PAGE })
    out.push(...page)
    if (page.length < PAGE) return out
  }
}

/** Records per kind, in export order: [{ kind, domain, records, bytes }]. */
function countRecords(backend, sessionId) {
  return backend.countRecords(sessionId)
}

function total(counts) {
  return counts.reduce((n, c) => n + c.records, 0)
}

/** Records (and bytes, null when unknown) per domain, first-seen order. */
function byDomain(counts) {
  const out = new Map()
  for (const c of counts) {
    const d = out.get(c.domain) || { domain: c.domain, records: 0, bytes: 0 }
    d.records += c.records
    d.bytes = d.bytes === null || c.bytes === null ? null : d.bytes + c.bytes
    out.set(c.domain, d)
  }
  return [...out.values()]
}

/** Adds `counts` into the per-domain totals `into` (a Map). */
function addInto(into, counts) {
  for (const d of byDomain(counts)) {
    const t = into.get(d.domain) || { domain: d.domain, records: 0, bytes: 0 }
    t.records += d.records
    t.bytes = t.bytes === null || d.bytes === null ? null : t.bytes + d.bytes
    into.set(d.domain, t)
  }
  return into
}

/** The kinds whose counts differ: [{ kind, domain, source, target }]. */
function differences(source, target) {
  const of = new Map(target.map((c) => [c.kind, c.records]))
  const out = []
  for (const c of source) {
    const t = of.get(c.kind) || 0
    if (t !== c.records) out.push({ kind: c.kind, domain: c.domain, source: c.records, target: t })
  }
  return out
}

function formatBytes(n) {
  if (n === null) return 'n/a'
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i += 1
  }
  return `${v.toFixed(1)} ${units[i]}`
}

/** Left-aligned first column, right-aligned others. */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ').trimEnd())
    .join('\n')
}

module.exports = { allSessions, countRecords, total, byDomain, addInto, differences, formatBytes, table, PAGE }
