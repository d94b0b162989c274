// Runs after `cargo leptos build`: gives every content-hashed build file a name that changes
// whenever any build file changes, then writes brotli and gzip copies of the site's files.
//
// cargo-leptos names each file after its content before it writes the other files' names into
// it, and the main module, its JavaScript and the split loader name each other, so a name
// cannot follow its own final bytes. Should only a lazily loaded page change, the main files
// would keep their names while pointing at a new loader; a browser keeping the old ones for a
// year would ask for files that are gone. Here each hash is mixed with a digest of the whole
// build, so the names move together. The new hashes have the old ones' length (22
// characters), so replacing them inside the wasm keeps it valid.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const SITE = process.argv[2] ?? 'target/site';
const PKG = join(SITE, 'pkg');
const HASH_FILE = process.argv[3] ?? 'target/release/hash.txt';
const HASHED = /^(.+)\.([A-Za-z0-9_-]{22})\.(js|wasm|css|json)$/;

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

// Copies from an earlier run are stale once names or contents change.
for (const f of filesUnder(SITE)) if (/\.(br|gz)$/.test(f)) rmSync(f);

const hashed = readdirSync(PKG)
  .filter((n) => HASHED.test(n) && !/^_+$/.test(n.match(HASHED)[2]))
  .sort();
if (hashed.length === 0) throw new Error(`no content-hashed files in ${PKG}: was hash-files on?`);

const whole = createHash('sha256');
for (const n of hashed) whole.update(n).update('\0').update(readFileSync(join(PKG, n))).update('\0');
const build = whole.digest('hex');

const renames = new Map(); // old hash → new hash
for (const n of hashed) {
  const old = n.match(HASHED)[2];
  const fresh = createHash('sha256').update(old).update(build).digest('base64url').slice(0, 22);
  renames.set(old, fresh);
}

function replaceAll(buf) {
  let out = buf;
  for (const [old, fresh] of renames) {
    const from = Buffer.from(old);
    const to = Buffer.from(fresh);
    let i = out.indexOf(from);
    while (i !== -1) {
      to.copy(out, i);
      i = out.indexOf(from, i + to.length);
    }
  }
  return out;
}

for (const n of hashed) {
  const [, stem, old, ext] = n.match(HASHED);
  const path = join(PKG, n);
  writeFileSync(path, replaceAll(readFileSync(path)));
  renameSync(path, join(PKG, `${stem}.${renames.get(old)}.${ext}`));
}

// hash.txt: Leptos reads it to name the files in each page.
const listed = readFileSync(HASH_FILE, 'utf8').replace(/^(\w+):\s*(\S+)$/gm, (line, key, h) =>
  renames.has(h) ? `${key}: ${renames.get(h)}` : line,
);
writeFileSync(HASH_FILE, listed);

let raw = 0;
let br = 0;
for (const f of filesUnder(SITE)) {
  if (!/\.(js|wasm|css|json|svg|webmanifest|html|txt)$/.test(f)) continue;
  const data = readFileSync(f);
  const b = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${f}.br`, b);
  writeFileSync(`${f}.gz`, gzipSync(data, { level: 9 }));
  raw += data.length;
  br += b.length;
}
console.log(`sealed ${hashed.length} build files (build ${build.slice(0, 12)}); ${raw} bytes, ${br} brotli`);
