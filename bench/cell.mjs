// One measurement in a fresh process: `node cell.mjs '<json spec>'`. The spec
// names the workload, the store and the workload's parameters. A fresh process
// per cell keeps stores from sharing AsyncLocalStorage instances, heap or
// connections. Prints one line `@@result <json>`: the workload's figures, or
// `{ failed: reason }` when it threw or a check failed. Whatever the cell
// created in the shared databases is removed before it exits.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import * as baileys from '@whiskeysockets/baileys'

import { removeNamed, serversOf, uniqueTag } from './lib/services.mjs'
import { archive } from './workloads/archive.mjs'
import { cacheHit } from './workloads/cache-hit.mjs'
import { group, oneToOne } from './workloads/signal.mjs'
import { storeOps } from './workloads/store-ops.mjs'
import { tenants } from './workloads/tenants.mjs'

export const WORKLOADS = { 'signal-1to1': oneToOne, 'signal-group': group, 'store-ops': storeOps, archive, tenants, 'cache-hit': cacheHit }

async function main() {
  const spec = JSON.parse(process.argv[2])
  const ctx = { baileys, tag: uniqueTag(), dir: fs.mkdtempSync(path.join(os.tmpdir(), 'wsbench-')) }
  let result
  try {
    result = await WORKLOADS[spec.workload](spec, ctx)
  } catch (err) {
    result = { failed: `${err && err.code ? `${err.code}: ` : ''}${(err && err.message) || err}`.slice(0, 500) }
    console.error(err)
  }
  const problems = await removeNamed(ctx.tag, serversOf(spec.store))
  fs.rmSync(ctx.dir, { recursive: true, force: true })
  if (problems.length) result.cleanup = problems
  process.stdout.write(`\n@@result ${JSON.stringify(result)}\n`)
  // Some peers keep module-global connections and timers open (mysql-baileys, Baileys' caches).
  process.exit(0)
}

main()
