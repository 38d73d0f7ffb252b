// The package root's types: the generated bindings (index.d.ts) plus the hand-written adapters.
export * from './index'
export * from './adapters/baileys'
export * from './adapters/zaileys'
