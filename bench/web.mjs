// bench/web's browser part: node bench/web.mjs BASE REPEATS BUNDLE_JSON
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(path.join(root, 'web/node_modules/playwright-core/index.mjs'));
const [base, rep, bundle] = [process.argv[2], +process.argv[3] || 5, process.argv[4]];
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const p95 = (a) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * 0.95))];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const line = (what, v, unit, anchorName, anchor) =>
  console.log(`${what.padEnd(44)} ${v.toFixed(1).padStart(9)} ${unit.padEnd(4)} ${anchorName.padEnd(26)} ${anchor.toFixed(1).padStart(8)}   ratio ${(v / anchor).toFixed(2)}`);

// problem page: navigation start to the runs table shown (cold: new context each time)
const pp = [];
for (let i = 0; i < rep; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const p = await ctx.newPage();
  await p.goto(base + '/problems/nuclei');
  await p.waitForSelector('table[data-table=runs] tbody tr');
  pp.push(await p.evaluate(() => performance.now()));
  await ctx.close();
}
// first tiles: the viewer's first OME-Zarr request to the first chunk's last byte
const bytes = [],
  decoded = [],
  view = [],
  navView = [];
for (let i = 0; i < rep; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const p = await ctx.newPage();
  await p.goto(`${base}/images/${1 + (i % 6)}`);
  await p.waitForSelector('[data-viewer=main][data-first-view-ms]', { timeout: 30000 });
  bytes.push(
    await p.evaluate(() => {
      const r = performance.getEntriesByType('resource').filter((e) => e.name.includes('/zarr/images/'));
      const c = r.find((e) => /\/\d+\/\d+\/\d+\/\d+\/\d+\/\d+$/.test(e.name));
      return c.responseEnd - r[0].startTime;
    }),
  );
  decoded.push(+(await p.getAttribute('[data-viewer=main]', 'data-first-tiles-ms')));
  view.push(+(await p.getAttribute('[data-viewer=main]', 'data-first-view-ms')));
  navView.push(+(await p.getAttribute('[data-viewer=main]', 'data-first-view-at')));
  await ctx.close();
}

// frame time while panning, with and without 100,000 points
async function panFrames(url) {
  await page.goto(url);
  await page.waitForSelector('[data-viewer=main][data-loaded]', { timeout: 60000 });
  await page.waitForTimeout(1500);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__frames.length < 100000) window.__raf = requestAnimationFrame(tick);
    };
    window.__raf = requestAnimationFrame(tick);
  });
  const cx = box.x + box.width / 2,
    cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 0; k < 60; k++) await page.mouse.move(cx + 200 * Math.sin(k / 6), cy + 120 * Math.cos(k / 6));
  await page.mouse.up();
  const f = await page.evaluate(() => (cancelAnimationFrame(window.__raf), window.__frames.slice(2)));
  return f;
}
const ov = await (await fetch(`${base}/api/v1/images/7/overlays/gt?limit=1`)).json();
// the whole image (the points as a raster) and zoomed in (one by one)
const withPts = await panFrames(`${base}/images/7?layers=gt&x=1024&y=1024&zoom=-1.3`);
const without = await panFrames(`${base}/images/7?x=1024&y=1024&zoom=-1.3`);
const withPtsIn = await panFrames(`${base}/images/7?layers=gt&x=1024&y=1024&zoom=3`);
const withoutIn = await panFrames(`${base}/images/7?x=1024&y=1024&zoom=3`);
await browser.close();

const bj = JSON.parse(fs.readFileSync(bundle, 'utf8'));
const sizes = bj.files;
const gz = Object.values(sizes).reduce((a, s) => a + s.gzip, 0);
const raw = Object.values(sizes).reduce((a, s) => a + s.bytes, 0);
console.log(`web app, ${rep} cold loads each (median); chromium headless, SwiftShader WebGL2\n`);
console.log(`${'measure'.padEnd(44)} ${'value'.padStart(9)} unit ${'anchor'.padEnd(26)} ${'value'.padStart(8)}`);
line('problem page: navigation to runs table', median(pp), 'ms', 'target', 1000);
line('first tile bytes (first request to chunk)', median(bytes), 'ms', 'target', 300);
line('first tile decoded (viewer mounted to tile)', median(decoded), 'ms', 'target', 300);
line('first view (every visible tile in)', median(view), 'ms', 'target', 1000);
line('navigation to first view (code, data, GPU)', median(navView), 'ms', 'problem page (same run)', median(pp));
line(`pan with ${ov.total} points: frame median`, median(withPts), 'ms', 'same viewer, no points', median(without));
line(`pan with ${ov.total} points: frame p95`, p95(withPts), 'ms', 'same viewer, no points', p95(without));
line(`zoom 3 (points one by one): frame median`, median(withPtsIn), 'ms', 'same viewer, no points', median(withoutIn));
line(`zoom 3 (points one by one): frame p95`, p95(withPtsIn), 'ms', 'same viewer, no points', p95(withoutIn));
console.log(`\nbundle: ${Object.keys(sizes).length} files, ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzipped; the first page (no viewer) loads ${(bj.initial_gzip / 1024).toFixed(0)} KiB gzipped, the viewer the rest when opened`);
