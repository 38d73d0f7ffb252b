#!/usr/bin/env node
// `npm run bench` (full: 3 rounds) and `npm run bench -- --quick` (1 round,
// small counts: what CI runs so the bench cannot rot; CI does not judge the
// numbers). Every (section, store) cell runs in a fresh `node` process, and
// rounds are interleaved: round 1 of every cell, then round 2, ... so every
// store meets the same machine conditions. Writes bench/results/benchmarks.json
// (every run's raw figures and the machine) and renders BENCHMARKS.md from it.
// Exits non-zero when any check failed.
//
//   node bench/run.mjs [--quick] [--only <section id>,...] [--rounds N] [--out <name>]
// --out writes bench/results/<name>.{json,md} instead (for partial or
// experimental runs, which must not replace the full results).

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import { loadAvg, machineInfo } from './lib/machine.mjs'
import { BENCH, REPO, RESULTS } from './lib/paths.mjs'
import { NAME_ROOT, removeNamed } from './lib/services.mjs'
import { plan } from './plan.mjs'
import { renderMarkdown } from './report.mjs'

const CELL_TIMEOUT_MS = 240_000

function parseArgs(argv) {
  const args = { quick: false, only: null, rounds: null, out: null }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true
    else if (argv[i] === '--only') args.only = argv[++i].split(',')
    else if (argv[i] === '--rounds') args.rounds = Number(argv[++i])
    else if (argv[i] === '--out') args.out = argv[++i]
    else throw new Error(`unknown argument ${argv[i]} (use --quick, --only <ids>, --rounds N, --out <name>)`)
  }
  return args
}

/** Runs one cell in a fresh node process; resolves to its result object. */
function runCell(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(BENCH, 'cell.mjs'), JSON.stringify(spec)], { cwd: BENCH, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), CELL_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('@@result '))
      if (line) return resolve(JSON.parse(line.slice('@@result '.length)))
      const why = signal === 'SIGKILL' ? `timed out after ${CELL_TIMEOUT_MS / 1000} s` : `exited with ${code ?? signal} before reporting`
      resolve({ failed: `${why}: ${err.trim().split('\n').slice(-3).join(' | ')}`.slice(0, 500) })
    })
  })
}

/** The first three figures of a result, for the progress log. */
function summary(r) {
  if (r.failed) return `FAILED: ${r.failed}`
  const figures = Object.entries(r.cases ? r.cases[0] : r).filter(([, v]) => typeof v === 'number')
  return figures.slice(0, 3).map(([k, v]) => `${k}=${v >= 100 ? Math.round(v) : v.toPrecision(3)}`).join(' ')
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  if (!fs.existsSync(path.join(BENCH, 'node_modules', 'zaileys'))) {
    throw new Error('the peers are not installed: run `npm install --prefix bench` first (better-sqlite3 compiles from source where no prebuilt binary can be downloaded; set npm_config_nodedir=/usr if node-gyp cannot fetch the headers)')
  }
  const p = plan(args.quick)
  const rounds = args.rounds ?? p.rounds
  const sections = p.sections.filter((s) => !args.only || args.only.includes(s.id))
  const started = Date.now()
  const machine = machineInfo()
  console.log(`wastore bench (${args.quick ? 'quick' : 'full'}, ${rounds} round${rounds > 1 ? 's' : ''}): ${machine.cpu} x${machine.cpus}, node ${machine.node}, commit ${machine.commit}`)
  await removeNamed(NAME_ROOT) // leftovers of an interrupted run

  const results = sections.map((s) => ({ ...s, runs: Object.fromEntries(s.stores.map((st) => [st, []])) }))
  for (let round = 1; round <= rounds; round++) {
    for (const section of results) {
      if (section.once && round > 1) continue
      for (const store of section.stores) {
        const t0 = Date.now()
        const params = { ...section.params, ...section.storeParams?.[store] }
        const r = await runCell({ workload: section.workload, store, ...params })
        const run = { round, params, ...r, cellSeconds: (Date.now() - t0) / 1000, loadAvg1m: loadAvg() }
        section.runs[store].push(run)
        console.log(`[${Math.round((Date.now() - started) / 1000)}s] round ${round} ${section.id} ${store}: ${summary(r)}`)
      }
    }
  }
  const leftovers = await removeNamed(NAME_ROOT)

  const failures = results.flatMap((s) => Object.entries(s.runs).flatMap(([store, runs]) => runs.filter((r) => r.failed).map((r) => ({ section: s.id, store, round: r.round, failed: r.failed }))))
  const doc = { mode: args.quick ? 'quick' : 'full', rounds, machine, loadAvgAtEnd: loadAvg(), elapsedSeconds: (Date.now() - started) / 1000, failures, cleanupProblems: leftovers, sections: results }
  fs.mkdirSync(RESULTS, { recursive: true })
  // A quick or partial run must not overwrite the full results.
  const stem = args.out ?? (args.quick ? 'benchmarks-quick' : 'benchmarks')
  fs.writeFileSync(path.join(RESULTS, `${stem}.json`), JSON.stringify(doc, null, 2) + '\n')
  const mdPath = stem === 'benchmarks' ? path.join(REPO, 'BENCHMARKS.md') : path.join(RESULTS, `${stem}.md`)
  fs.writeFileSync(mdPath, renderMarkdown(doc))
  console.log(`\nwrote ${path.relative(REPO, path.join(RESULTS, `${stem}.json`))} and ${path.relative(REPO, mdPath)} in ${doc.elapsedSeconds.toFixed(0)} s`)
  if (failures.length) {
    console.log(`${failures.length} check(s) failed:`)
    for (const f of failures) console.log(`  ${f.section} ${f.store} round ${f.round}: ${f.failed}`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error('bench failed:', err.message ?? err)
  process.exitCode = 1
})
