// What a run measures: the sections of the results file, each one workload
// with its parameters and the stores it runs on, in full and in --quick mode.
// `pairs` are the headline ratios: [wastore store, the peer it is compared with].
// `storeParams` overrides parameters per store (slow peers run fewer accounts;
// the report then compares per-account figures). A section with `full: true`
// runs in full mode only (a second configuration of a workload --quick already covers),
// one with `once: true` in the first round only (the profiles, which explain, not measure).
//
// The counts are what fits the 15-minute budget on a 2-core machine with 3
// rounds; BENCHMARKS.md states where they are below the (the figures
// are per message / per account, which do not depend on the count once the
// sessions are established).

const SIGNAL_STORES = ['map', 'multifile', 'zaileys-sqlite', 'wastore-sqlite', 'zaileys-postgres', 'wastore-postgres', 'zaileys-redis', 'wastore-redis', 'mysql-baileys', 'wastore-mysql']
const SIGNAL_PAIRS = [
  ['wastore-sqlite', 'zaileys-sqlite'],
  ['wastore-sqlite', 'map'],
  ['wastore-sqlite', 'multifile'],
  ['wastore-postgres', 'zaileys-postgres'],
  ['wastore-redis', 'zaileys-redis'],
  ['wastore-mysql', 'mysql-baileys'],
]

export function plan(quick) {
  const q = (full, small) => (quick ? small : full)
  // Only wastore SQLite has a target at 1,000 accounts; the others run fewer (their one file or
  // schema per account costs 3–7 ms, a server round trip per save 1–5 ms) and compare per account.
  const slowTenants = quick ? {} : Object.fromEntries(['zaileys-sqlite', 'zaileys-postgres', 'wastore-postgres', 'wastore-redis', 'zaileys-redis', 'wastore-mysql'].map((s) => [s, { accounts: 250 }]))
  return {
    rounds: q(3, 1),
    sections: sections(q, slowTenants).filter((s) => !(quick && s.full)),
  }
}

function sections(q, slowTenants) {
  return [
    {
      id: 'signal-1to1',
      title: '1:1 messages, Alice + 20 peers (a single-account bot)',
      workload: 'signal-1to1',
      params: { peers: q(20, 4), messages: q(600, 150) },
      stores: SIGNAL_STORES,
      pairs: SIGNAL_PAIRS,
    },
    {
      id: 'signal-1to1-200',
      title: '1:1 messages, Alice + 200 peers (a multi-account process)',
      workload: 'signal-1to1',
      full: true,
      params: { peers: 200, messages: 300 },
      // The SQLite contenders and the floor only: 201 parties take 7 s to set up per store.
      stores: ['map', 'zaileys-sqlite', 'wastore-sqlite'],
      pairs: SIGNAL_PAIRS.slice(0, 2),
    },
    {
      id: 'signal-profile',
      title: 'Profile: wastore SQLite 1:1 (1+20) with the native calls below the Baileys adapter timed too',
      workload: 'signal-1to1',
      full: true,
      once: true,
      params: { peers: 20, messages: 500, split: true, profile: true },
      stores: ['wastore-sqlite'],
      pairs: [],
    },
    {
      id: 'signal-group',
      title: 'Group of 50: Alice sends, every member decrypts',
      workload: 'signal-group',
      params: { peers: q(50, 3), messages: q(3, 1) },
      // Setting up 50 members takes 4–8 s per store: the SQLite and Redis contenders and the floor only.
      stores: ['map', 'zaileys-sqlite', 'wastore-sqlite', 'zaileys-redis', 'wastore-redis'],
      pairs: [SIGNAL_PAIRS[0], SIGNAL_PAIRS[1], SIGNAL_PAIRS[4]],
    },
    {
      id: 'store-ops',
      title: 'Store operations on a Signal session',
      workload: 'store-ops',
      params: { measureMs: q(250, 100), warmupMs: q(80, 30) },
      stores: ['map', 'wastore-memory', 'wastore-sqlite', 'wastore-postgres', 'wastore-mysql', 'wastore-redis'],
      pairs: [],
    },
    {
      id: 'archive',
      title: 'Archive ingest through write-behind, then listByThread(limit 50)',
      workload: 'archive',
      params: { messages: q(50_000, 2_000) },
      stores: ['floor-sqlite', 'wastore-sqlite', 'zaileys-sqlite', 'floor-postgres', 'wastore-postgres', 'zaileys-postgres', 'floor-redis', 'wastore-redis', 'zaileys-redis', 'floor-mysql', 'wastore-mysql'],
      pairs: [
        ['wastore-sqlite', 'floor-sqlite'],
        ['zaileys-sqlite', 'floor-sqlite'],
        ['wastore-postgres', 'floor-postgres'],
        ['zaileys-postgres', 'floor-postgres'],
        ['wastore-redis', 'floor-redis'],
        ['zaileys-redis', 'floor-redis'],
        ['wastore-mysql', 'floor-mysql'],
      ],
    },
    {
      id: 'archive-profile',
      title: 'Profile: wastore SQLite archive ingest',
      workload: 'archive',
      full: true,
      once: true,
      params: { messages: 20_000, profile: true },
      stores: ['wastore-sqlite'],
      pairs: [],
    },
    {
      id: 'tenants',
      title: 'Multi-tenant, one account at a time: 1,000 accounts, creds saved and loaded',
      workload: 'tenants',
      params: { accounts: q(1000, 50) },
      storeParams: slowTenants,
      stores: ['map', 'wastore-sqlite', 'zaileys-sqlite', 'wastore-postgres', 'zaileys-postgres', 'wastore-redis', 'zaileys-redis', 'wastore-mysql'],
      pairs: [
        ['wastore-sqlite', 'zaileys-sqlite'],
        ['wastore-postgres', 'zaileys-postgres'],
        ['wastore-redis', 'zaileys-redis'],
      ],
    },
    {
      id: 'tenants-profile',
      title: 'Profile: wastore SQLite, 1,000 accounts saved one at a time',
      workload: 'tenants',
      full: true,
      once: true,
      params: { accounts: 1000, profile: true },
      stores: ['wastore-sqlite'],
      pairs: [],
    },
    {
      id: 'tenants-concurrent',
      title: 'Multi-tenant, 64 accounts in flight: 1,000 accounts, creds saved and loaded',
      workload: 'tenants',
      params: { accounts: q(1000, 50), inFlight: 64 },
      storeParams: slowTenants,
      // zaileys' PostgreSQL store switches one connection between schemas: it cannot run accounts concurrently.
      stores: ['map', 'wastore-sqlite', 'zaileys-sqlite', 'wastore-postgres', 'wastore-redis', 'zaileys-redis', 'wastore-mysql'],
      pairs: [
        ['wastore-sqlite', 'zaileys-sqlite'],
        ['wastore-redis', 'zaileys-redis'],
      ],
    },
    {
      id: 'cache-hit',
      title: 'Signal cache hit against a JS Map lookup',
      workload: 'cache-hit',
      params: { hits: q(100_000, 10_000) },
      stores: ['wastore-sqlite'],
      pairs: [],
    },
  ]
}
