// What the results file records about the machine and the code under test.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { REPO, WASTORE_PACKAGE } from './paths.mjs'

function git(...args) {
  return execFileSync('git', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
}

export function machineInfo() {
  let commit = null
  try {
    commit = git('rev-parse', '--short', 'HEAD')
    // Built from uncommitted changes? Then the commit alone does not identify the code.
    if (git('status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock', 'adapters', 'main.js', 'fast.js', 'index.js')) commit += '-dirty'
  } catch {}
  // A copied build names its own commit (the checkout may have moved on).
  if (WASTORE_PACKAGE !== REPO) commit = process.env.WASTORE_BENCH_COMMIT ?? `unknown (package ${WASTORE_PACKAGE})`
  const cpus = os.cpus()
  const version = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  return {
    date: new Date().toISOString(),
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
    node: process.version,
    wastore: version(WASTORE_PACKAGE),
    package: WASTORE_PACKAGE === REPO ? '.' : WASTORE_PACKAGE,
    commit,
  }
}

/** The 1-minute load average now, rounded (recorded per run as a contention indicator). */
export const loadAvg = () => Math.round(os.loadavg()[0] * 100) / 100
