'use strict'
// Type-checks __test__/multi-tenant.ts against index.d.ts with `tsc --strict`,
// compiles it, and runs it. Fails (does not skip) when TypeScript is missing.
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { describe, it, before, after } = require('node:test')

const ROOT = path.resolve(__dirname, '..')
const TSC = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc')
const SOURCE = path.join(__dirname, 'multi-tenant.ts')
const TYPE_ERRORS = path.join(__dirname, 'type-errors.ts')
const HAS_NODE_TYPES = fs.existsSync(path.join(ROOT, 'node_modules', '@types', 'node', 'package.json'))

let tmp

function tsc(args) {
  const result = spawnSync(TSC, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  if (result.error) throw result.error
  return result
}

/** Compiler flags shared by the check and the emit. */
function baseFlags() {
  const flags = ['--strict', '--target', 'es2022', '--module', 'commonjs', '--pretty', 'false']
  if (HAS_NODE_TYPES) {
    flags.push('--types', 'node')
    return { flags, extraFiles: [] }
  }
  // Without @types/node, give index.d.ts a minimal `Buffer` so its own types can be checked.
  const shim = path.join(tmp, 'node-shim.d.ts')
  fs.writeFileSync(shim, 'declare class Buffer extends Uint8Array {}\n')
  return { flags, extraFiles: [shim] }
}

describe('TypeScript: multi-tenant example against index.d.ts', { timeout: 180_000 }, () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-ts-'))
  })
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('typescript is installed (node_modules/.bin/tsc)', () => {
    assert.ok(
      fs.existsSync(TSC),
      `TypeScript compiler not found at ${TSC}; add "typescript" to devDependencies and run npm install`
    )
  })

  it('index.d.ts exists and the package "types" entry (main.d.ts) re-exports it', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    assert.equal(pkg.types, 'main.d.ts')
    assert.equal(pkg.exports['.'].types, './main.d.ts')
    assert.ok(fs.existsSync(path.join(ROOT, 'index.d.ts')), 'index.d.ts is missing')
    assert.match(fs.readFileSync(path.join(ROOT, 'main.d.ts'), 'utf8'), /export \* from '\.\/index'/)
  })

  it('tsc --noEmit --strict accepts multi-tenant.ts (and index.d.ts itself)', () => {
    assert.ok(fs.existsSync(TSC), 'TypeScript compiler missing')
    const { flags, extraFiles } = baseFlags()
    const result = tsc(['--noEmit', ...flags, SOURCE, ...extraFiles])
    assert.equal(result.status, 0, `tsc reported errors:\n${result.stdout}${result.stderr}`)
  })

  it('misuses in type-errors.ts are compile errors (index.d.ts has real parameter types)', () => {
    assert.ok(fs.existsSync(TSC), 'TypeScript compiler missing')
    const { flags, extraFiles } = baseFlags()
    const result = tsc(['--noEmit', ...flags, TYPE_ERRORS, ...extraFiles])
    assert.equal(result.status, 0, `some misuses type-check (unused @ts-expect-error) or other errors:\n${result.stdout}${result.stderr}`)
  })

  it('the compiled example runs: tenants write, read, restart and read again', () => {
    assert.ok(fs.existsSync(TSC), 'TypeScript compiler missing')
    const { flags, extraFiles } = baseFlags()
    const outDir = path.join(tmp, 'out')
    const result = tsc([...flags, '--rootDir', __dirname, '--outDir', outDir, SOURCE, ...extraFiles])
    assert.equal(result.status, 0, `tsc emit failed:\n${result.stdout}${result.stderr}`)
    // The example imports '..' (the package root, as seen from __test__/); from
    // <tmp>/out/multi-tenant.js that is <tmp>, so point <tmp>/index.js at the package.
    fs.writeFileSync(path.join(tmp, 'index.js'), `module.exports = require(${JSON.stringify(ROOT)})\n`)
    const run = spawnSync(process.execPath, [path.join(outDir, 'multi-tenant.js')], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, WASTORE_TS_DB: path.join(tmp, 'tenants.sqlite') }
    })
    assert.equal(run.status, 0, `example failed (exit ${run.status}, signal ${run.signal}):\n${run.stdout}${run.stderr}`)
    const last = run.stdout.trim().split('\n').pop()
    assert.deepEqual(JSON.parse(last), { ok: true, tenants: 4 })
  })
})
