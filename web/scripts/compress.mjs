// Writes a .gz sibling next to every large text file of the build, which the citybrain
// server sends to browsers that accept gzip (it does not compress on the fly).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, constants } from "node:zlib";

const dir = process.argv[2] ?? "dist";
const textual = /\.(js|mjs|css|html|json|geojson|svg|txt|map)$/;
let files = 0, before = 0, after = 0;
function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    const st = statSync(p);
    if (st.isDirectory()) { walk(p); continue; }
    if (!textual.test(name) || st.size < 1024) continue;
    const gz = gzipSync(readFileSync(p), { level: constants.Z_BEST_COMPRESSION });
    if (gz.length >= st.size) continue;
    writeFileSync(p + ".gz", gz);
    files++; before += st.size; after += gz.length;
  }
}
walk(dir);
console.log(`compress: ${files} files, ${(before / 1024).toFixed(0)} KiB -> ${(after / 1024).toFixed(0)} KiB gzip`);
