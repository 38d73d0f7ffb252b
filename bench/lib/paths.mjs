// Where things are: the repository root (the wastore package) and the bench folder.

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
export const REPO = path.dirname(BENCH)
export const RESULTS = path.join(BENCH, 'results')

/**
 * The wastore package under test: this checkout (the addon `npm install`
 * built), or `WASTORE_BENCH_PACKAGE`, a copy of one build (its JS files and
 * its addon), so that a long run is not disturbed by rebuilds in the checkout.
 */
export const WASTORE_PACKAGE = process.env.WASTORE_BENCH_PACKAGE ? path.resolve(process.env.WASTORE_BENCH_PACKAGE) : REPO

let loaded = null
/** The wastore package under test, loaded on first use. */
export const wastore = () => (loaded ??= createRequire(import.meta.url)(WASTORE_PACKAGE))
