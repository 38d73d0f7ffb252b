// The JS `Map` floors of the in-process workloads: async methods over a Map
// that keeps objects by reference, with no serialization and no durability.
// The least work any JavaScript store can do; a lower bound, not a competitor.

const key = (a) => `${a.user}|${a.server ?? 's.whatsapp.net'}|${a.device}`

/** zapo's session-domain methods (getSession, setSession and their batches). */
export class MapSessionStore {
  sessions = new Map()
  async getSession(a) {
    return this.sessions.get(key(a)) ?? null
  }
  async setSession(a, rec) {
    this.sessions.set(key(a), rec)
  }
  async getSessionsBatch(addrs) {
    return addrs.map((a) => this.sessions.get(key(a)) ?? null)
  }
  async setSessionsBatch(entries) {
    for (const { address, session } of entries) this.sessions.set(key(address), session)
  }
}

/** A Baileys-style key store (`get(type, ids)` answering the found ids, `set(data)`). */
export class MapKeyStore {
  map = new Map()
  async get(type, ids) {
    const out = {}
    for (const id of ids) {
      const v = this.map.get(`${type}\0${id}`)
      if (v !== undefined) out[id] = v
    }
    return out
  }
  async set(data) {
    for (const [type, byId] of Object.entries(data)) for (const [id, v] of Object.entries(byId)) this.map.set(`${type}\0${id}`, v)
  }
}
