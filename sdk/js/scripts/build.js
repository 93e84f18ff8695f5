// Emits the CommonJS build from the ESM source, with plain Node:
//   src/index.js -> dist/index.cjs   (the `export` statements at the bottom become exports.* assignments)
//   index.d.ts   -> dist/index.d.cts (the same declarations, for `require` under TypeScript's node16/nodenext)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = readFileSync(join(root, 'src/index.js'), 'utf8')

const namedExport = /^export \{([^}]*)\}\s*$/m
const defaultExport = /^export default (\w+)\s*$/m
const named = src.match(namedExport)
const dflt = src.match(defaultExport)
if (!named || !dflt) throw new Error('src/index.js: expected one `export { … }` and one `export default X` statement')
const names = named[1].split(',').map((s) => s.trim()).filter(Boolean)

let body = src.replace(namedExport, '').replace(defaultExport, '').trimEnd()
// Anything left that is module syntax would not run as CommonJS.
const leftover = body.match(/^\s*(export|import)\b(?!\()/m)
if (leftover) throw new Error(`src/index.js: move every export into the bottom \`export { … }\` (found ${JSON.stringify(leftover[0].trim())})`)

const cjs = [
  '// Generated from src/index.js by scripts/build.js: do not edit.',
  "'use strict'",
  "Object.defineProperty(exports, '__esModule', { value: true })",
  body,
  '',
  ...names.map((n) => `exports.${n} = ${n}`),
  `exports.default = ${dflt[1]}`,
  '',
].join('\n')

mkdirSync(join(root, 'dist'), { recursive: true })
writeFileSync(join(root, 'dist/index.cjs'), cjs)
const dts = readFileSync(join(root, 'index.d.ts'), 'utf8')
writeFileSync(join(root, 'dist/index.d.cts'), '// Generated from index.d.ts by scripts/build.js: do not edit.\n' + dts)
console.log(`built dist/index.cjs (exports: ${[...names, 'default'].join(', ')}) and dist/index.d.cts`)
