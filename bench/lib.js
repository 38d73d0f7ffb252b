'use strict'
// Shared by the benches: machine info, run statistics, formatting, and
// the backends a bench can reach (the same URLs the tests use).

const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

function machineInfo() {
  let commit = null
  try {
    const git = (...args) => execFileSync('git', args, { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    commit = git('rev-parse', '--short', 'HEAD')
    // Built from uncommitted Rust changes? Then the commit alone does not identify the code.
    if (git('status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock')) commit += '-dirty'
  } catch {}
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
    node: process.version,
    wastore: require('../package.json').version,
    commit,
  }
}

/** `{ median, min, max }` of a list of numbers. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[Math.floor((sorted.length - 1) / 2)], min: sorted[0], max: sorted[sorted.length - 1] }
}

const fmtNum = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-')
const fmtMs = (x) => (Number.isFinite(x) ? (x < 0.1 ? x.toFixed(4) : x < 10 ? x.toFixed(3) : x.toFixed(1)) : '-')
const fmtRatio = (x) => (Number.isFinite(x) ? `${x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)}x` : '-')
const fmtSpread = (s, f = fmtNum) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`

function renderText(header, body) {
  const w = header.map((h, c) => Math.max(h.length, ...body.map((r) => String(r[c]).length)))
  const line = (r) => r.map((v, c) => (c === 0 ? String(v).padEnd(w[c]) : String(v).padStart(w[c]))).join('  ')
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

function renderMarkdownTable(header, body) {
  const row = (r) => `| ${r.join(' | ')} |`
  return [row(header), row(header.map((_, c) => (c === 0 ? '---' : '---:'))), ...body.map(row)].join('\n')
}

function machineMarkdown(info) {
  return [
    `- date: ${info.date}`,
    `- cpu: ${info.cpu} (${info.cpus} logical CPUs), ${info.memoryGiB} GiB RAM`,
    `- os: ${info.os} (1-min load average at start: ${info.loadAvg1m})`,
    `- node: ${info.node}`,
    `- wastore: ${info.wastore}${info.commit ? ` (commit ${info.commit})` : ''}`,
  ].join('\n')
}

module.exports = { machineInfo, spread, fmtNum, fmtMs, fmtRatio, fmtSpread, renderText, renderMarkdownTable, machineMarkdown }
