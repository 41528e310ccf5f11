// Bundle the app: node build.mjs OUT_DIR. Writes OUT/index.html,
// OUT/assets/app-HASH.{js,css} (content-hashed: cached for ever), a .gz of
// each, and OUT/bundle.json with their sizes. Old assets are removed.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// zarrita loads its compressors from numcodecs (emscripten WebAssembly that
// needs eval): zstd is decoded by fzstd instead, the others are left out.
const here = path.dirname(new URL(import.meta.url).pathname);
const codecs = {
  name: 'codecs',
  setup(b) {
    b.onResolve({ filter: /^numcodecs\/(zstd|blosc|lz4)$/ }, (a) => ({
      path: path.join(here, 'src/codecs', a.path.endsWith('zstd') ? 'zstd.ts' : 'unsupported.ts'),
    }));
  },
};

const out = path.resolve(process.argv[2] || '../build/web');
const assets = path.join(out, 'assets');
fs.mkdirSync(assets, { recursive: true });
const r = await esbuild.build({
  entryPoints: ['src/main.tsx'],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  outdir: assets,
  entryNames: 'app-[hash]',
  chunkNames: 'chunk-[hash]',
  splitting: true,
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [codecs],
});
const made = Object.keys(r.metafile.outputs).map((f) => path.resolve(f));
const js = path.resolve(Object.entries(r.metafile.outputs).find(([, o]) => o.entryPoint === 'src/main.tsx')[0]);
const css = made.find((f) => f.endsWith('.css'));
const rel = (f) => '/assets/' + path.basename(f);
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BIAFLOWS</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
${css ? `<link rel="stylesheet" href="${rel(css)}">` : ''}
<script type="module" src="${rel(js)}"></script>
</head>
<body><div id="app"></div><noscript>This page needs JavaScript; the REST API is under /api/v1.</noscript></body>
</html>
`;
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#12263f"/><circle cx="8" cy="8" r="4" fill="#2ecc40"/></svg>\n`;
const sizes = {};
for (const f of made) {
  const b = fs.readFileSync(f);
  const gz = zlib.gzipSync(b, { level: 9 });
  fs.writeFileSync(f + '.gz', gz);
  sizes[path.basename(f)] = { bytes: b.length, gzip: gz.length };
}
const keep = new Set(made.flatMap((f) => [path.basename(f), path.basename(f) + '.gz']));
for (const f of fs.readdirSync(assets)) if (!keep.has(f)) fs.rmSync(path.join(assets, f));
fs.writeFileSync(path.join(out, 'favicon.svg'), icon);
// what the first page loads: the entry and the chunks it imports statically
const first = new Set([path.basename(js)]);
for (const [f, o] of Object.entries(r.metafile.outputs))
  if (path.resolve(f) === js) for (const i of o.imports) if (i.kind === 'import-statement') first.add(path.basename(i.path));
const initial = [...first].reduce((a, f) => a + (sizes[f]?.gzip || 0), 0) + (css ? sizes[path.basename(css)].gzip : 0);
fs.writeFileSync(path.join(out, 'bundle.json'), JSON.stringify({ entry: path.basename(js), initial_gzip: initial, files: sizes }, null, 1) + '\n');
fs.writeFileSync(path.join(out, 'index.html.tmp'), html);
fs.renameSync(path.join(out, 'index.html.tmp'), path.join(out, 'index.html'));
const total = Object.values(sizes).reduce((a, s) => a + s.gzip, 0);
console.log(`web: ${Object.keys(sizes).length} files → ${out} (${(total / 1024).toFixed(0)} KiB gzipped; the first page loads ${(initial / 1024).toFixed(0)} KiB)`);
