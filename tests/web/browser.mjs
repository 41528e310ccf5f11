// The web app's pages in headless chromium (tests/web/t_web.sh makes the
// instance and starts the server): node tests/web/browser.mjs BASE_URL.
// Prints TAP lines and "# web: N passed, M failed"; exits 1 on a failure.
// Checks pixels of the WebGL canvas, not only the DOM.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { chromium } = await import(path.join(root, 'web/node_modules/playwright-core/index.mjs'));
const base = process.argv[2];
const shots = process.env.WEB_SHOTS || path.join(root, 'build/test-logs/web-shots');
fs.mkdirSync(shots, { recursive: true });

let passed = 0,
  failed = 0,
  n = 0;
const perf = {};
async function check(name, fn) {
  n++;
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok ${n} - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    console.log(`#   ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 4).join('\n#   ')}`);
  }
}
function assert(c, msg) {
  if (!c) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // (no sandbox: CI runs as root; /dev/shm may be small in a container)
  args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox', '--disable-gpu-sandbox', '--disable-dev-shm-usage'],
});
const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
const page = await ctx.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && problems.push(`console: ${m.text()}`));
// (503 from an image route is the server saying a new image's pyramid is
// being built: the page tries again)
page.on('response', (r) => r.status() >= 500 && !(r.status() === 503 && /\/(iiif|zarr)\//.test(r.url())) && problems.push(`HTTP ${r.status()} ${r.url()}`));
// decoding screenshots (PNG) into pixels, in a page of its own
const dec = await ctx.newPage();
await dec.goto('about:blank');

// A screenshot (PNG) is decoded in that page and kept there; the numbers
// below are computed there too (moving millions of samples is slow).
let shots_n = 0;
async function pixels(buf) {
  const id = ++shots_n;
  const [w, h] = await dec.evaluate(
    async ([b64, k]) => {
      const blob = await (await fetch('data:image/png;base64,' + b64)).blob();
      const img = await createImageBitmap(blob);
      const c = new OffscreenCanvas(img.width, img.height);
      const x = c.getContext('2d');
      x.drawImage(img, 0, 0);
      (self.imgs ||= {})[k] = x.getImageData(0, 0, img.width, img.height);
      return [img.width, img.height];
    },
    [buf.toString('base64'), id],
  );
  return { id, w, h };
}
// the mean colour of the (2r+1)² pixels around (cx, cy)
const mean = (px, cx, cy, r = 2) =>
  dec.evaluate(
    ([k, cx, cy, r]) => {
      const d = self.imgs[k];
      const s = [0, 0, 0];
      let n = 0;
      for (let y = Math.round(cy) - r; y <= Math.round(cy) + r; y++)
        for (let x = Math.round(cx) - r; x <= Math.round(cx) + r; x++) {
          const i = 4 * (y * d.width + x);
          s[0] += d.data[i];
          s[1] += d.data[i + 1];
          s[2] += d.data[i + 2];
          n++;
        }
      return s.map((v) => v / n);
    },
    [px.id, cx, cy, r],
  );
const sat = (c) => Math.max(...c) - Math.min(...c);
// mean brightness (0..255)
const bright = (px) =>
  dec.evaluate((k) => {
    const d = self.imgs[k].data;
    let s = 0;
    for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
    return s / (d.length / 4) / 3;
  }, px.id);
// the fraction of pixels that differ clearly between two shots
const changed = (a, b) =>
  dec.evaluate(
    ([i, j]) => {
      const x = self.imgs[i].data,
        y = self.imgs[j].data;
      let k = 0;
      for (let p = 0; p < x.length; p += 4) if (Math.abs(x[p] - y[p]) + Math.abs(x[p + 1] - y[p + 1]) + Math.abs(x[p + 2] - y[p + 2]) > 30) k++;
      return k / (x.length / 4);
    },
    [a.id, b.id],
  );
// a viewer has drawn its image (and label) tiles and stopped drawing
async function settled(sel = '[data-viewer=main]', labels = false) {
  await page.waitForSelector(`${sel}[data-loaded]${labels ? '[data-labels]' : ''}`, { timeout: 20000 });
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const f = await page.getAttribute(sel, 'data-frames');
    if (f === last) return;
    last = f;
    await page.waitForTimeout(250);
  }
  console.log(`# ${sel} kept drawing (${last} frames)`);
}
const canvas = async (sel = '[data-viewer=main]') => pixels(await page.locator(`${sel} canvas`).screenshot());
const shot = (name) => page.screenshot({ path: path.join(shots, `web-${name}.png`) });
const api = (p) => page.evaluate(async (u) => (await fetch(u)).json(), '/api/v1' + p);

await check('the problem list links to a problem; its page shows within 1 s (target)', async () => {
  await page.goto(base + '/');
  await page.waitForSelector('table[data-table=problems] a[href="/problems/nuclei16"]');
  const row = await page.textContent('table[data-table=problems]');
  assert(/nuclei16[\s\S]*ObjSeg[\s\S]*6/.test(row), `problem row: ${row.slice(0, 200)}`);
  assert(/NucleiSegmentation-C@1/.test(row) && /mAP 0\.\d{3}/.test(row), 'the best workflow and its main metric are listed');
  await shot('problems');
  await page.click('a[href="/problems/nuclei16"]');
  await page.waitForSelector('[data-gallery] img');
  assert(page.url().endsWith('/problems/nuclei16'), page.url());
  // a fresh load of the page, timed from navigation
  await page.goto(base + '/problems/nuclei16');
  await page.waitForSelector('table[data-table=runs] tbody tr');
  perf.problem_page_ms = await page.evaluate(() => performance.now());
  await page.waitForFunction(() => [...document.querySelectorAll('[data-gallery] img')].every((i) => i.complete && i.naturalWidth > 0));
  assert((await page.locator('[data-gallery] img').count()) === 6, 'six thumbnails');
  assert(perf.problem_page_ms < 3000, `the problem page took ${perf.problem_page_ms} ms`);
  await shot('problem');
});

let gtObj, imageId;
await check('the viewer draws the GT layer over a 16-bit image; switching it off restores the pixels', async () => {
  const imgs = await api('/problems/nuclei16/images');
  imageId = imgs.items[1].id;
  const errs = await api(`/runs/1/errors?image=${imageId}`);
  gtObj = errs.filter((o) => o.kind === 'gt').sort((a, b) => b.detail.area - a.detail.area)[0];
  const [cx, cy] = gtObj.centroid;
  await page.goto(`${base}/images/${imageId}?layers=gt&x=${cx}&y=${cy}&zoom=2`);
  await settled('[data-viewer=main]', true);
  perf.first_tile_decoded_ms = +(await page.getAttribute('[data-viewer=main]', 'data-first-tiles-ms'));
  perf.first_view_ms = +(await page.getAttribute('[data-viewer=main]', 'data-first-view-ms'));
  // the server's part: from the viewer's first request of the image's
  // OME-Zarr to the first chunk's last byte
  perf.first_tile_bytes_ms = await page.evaluate(() => {
    const r = performance.getEntriesByType('resource').filter((e) => e.name.includes('/zarr/images/'));
    const chunk = r.find((e) => /\/\d+\/\d+\/\d+\/\d+\/\d+\/\d+$/.test(e.name));
    return chunk ? chunk.responseEnd - r[0].startTime : -1;
  });
  assert(perf.first_tile_bytes_ms > 0 && perf.first_tile_bytes_ms < 1000, `first tile bytes after ${perf.first_tile_bytes_ms} ms`);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  const with_gt = await canvas();
  const c1 = await mean(with_gt, box.width / 2, box.height / 2);
  await shot('viewer');
  await page.uncheck('input[name=layer-gt]');
  await page.waitForTimeout(300);
  await settled();
  const without = await canvas();
  const c0 = await mean(without, box.width / 2, box.height / 2);
  assert(sat(c1) > 40, `the GT object is coloured: ${c1}`);
  assert(sat(c0) < 12, `without GT the pixel is grey: ${c0}`);
  assert(c0.some((v) => v > 20), `the image is drawn: ${c0}`);
  await page.check('input[name=layer-gt]');
  await page.waitForTimeout(300);
  await settled('[data-viewer=main]');
  const again = await mean(await canvas(), box.width / 2, box.height / 2);
  assert(again.every((v, i) => Math.abs(v - c1[i]) < 12), `GT on again: ${again} vs ${c1}`);
  assert(/layers=gt/.test(page.url()) && /zoom=2/.test(page.url()), `the URL keeps the view: ${page.url()}`);
});

await check('a 16-bit contrast change changes brightness', async () => {
  await page.uncheck('input[name=layer-gt]');
  await page.waitForTimeout(300);
  await settled();
  const b0 = await bright(await canvas());
  const hi = +(await page.inputValue('input[name=hi0]'));
  const lo = +(await page.inputValue('input[name=lo0]'));
  assert(hi > 255, `a 16-bit window (${lo}..${hi})`);
  await page.locator('input[name=hi0]').fill(String(Math.round(lo + (hi - lo) / 3)));
  await page.waitForTimeout(300);
  await settled();
  const b1 = await bright(await canvas());
  assert(b1 > b0 + 10, `brighter with a narrower window: ${b0.toFixed(1)} -> ${b1.toFixed(1)}`);
});

await check('clicking an object shows its id, its match and its figures', async () => {
  await page.goto(`${base}/images/${imageId}?layers=gt,run:1&errors=1&x=${gtObj.centroid[0]}&y=${gtObj.centroid[1]}&zoom=2`);
  await settled('[data-viewer=main]', true);
  await page.waitForTimeout(500);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('[data-picked]');
  const t = await page.textContent('.picked');
  assert(new RegExp(`gt object ${gtObj.id}\\b`).test(t), `picked: ${t}`);
  assert(/TP|FN/.test(t) && /area/.test(t), `status and figures: ${t}`);
  await shot('viewer-errors');
});

// the colour at the centre of the viewer of url, with the GT layer and
// after unticking it
async function centreWithAndWithoutGt(url) {
  await page.goto(url);
  await settled();
  await page.waitForTimeout(500);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  const on = await mean(await canvas(), box.width / 2, box.height / 2, 1);
  await page.uncheck('input[name=layer-gt]');
  await page.waitForTimeout(300);
  await settled();
  return [on, await mean(await canvas(), box.width / 2, box.height / 2, 1)];
}

await check('a vector layer (spots) draws its points', async () => {
  const imgs = await api('/problems/spots/images');
  const id = imgs.items[0].id;
  const ov = await api(`/images/${id}/overlays/gt`);
  assert(ov.items.length > 0, 'the spots GT has points');
  const [x, y] = ov.items[0];
  const [on, off] = await centreWithAndWithoutGt(`${base}/images/${id}?layers=gt&x=${x + 0.5}&y=${y + 0.5}&zoom=1`);
  assert(on[0] > 150 && on[1] > 120 && on[2] < 100, `a yellow point: ${on}`);
  assert(sat(off) < 12, `grey without it: ${off}`);
});

await check('a track layer draws the heads of the frame shown', async () => {
  const imgs = await api('/problems/tracks/images');
  const id = imgs.items[0].id;
  const ov = await api(`/images/${id}/overlays/gt?t=5`);
  assert(ov.kind === 'tracks' && ov.items.length > 0, 'the GT has positions at t=5');
  const [x, y] = ov.items[0];
  const [on, off] = await centreWithAndWithoutGt(`${base}/images/${id}?layers=gt&t=5&x=${x + 0.5}&y=${y + 0.5}&zoom=2`);
  assert(sat(on) > 60, `a coloured head at t=5: ${on}`);
  assert(sat(off) < 12, `grey without it: ${off}`);
  assert(/T\s*6\/12/.test(await page.textContent('.planes')), 'the T slider shows frame 6 of 12');
});

// the fraction of the (2r+1)² pixels around (cx, cy) of a hue: an error
// map's colour (blended over the grey image) is recognised by its hue
const HUES = {
  split: 'r - g > 50 && b - g > 50', // purple
  spurious: 'r - g > 60 && r - b > 60', // red
  matched: 'g - r > 50 && g - b > 50', // green
  missed: 'b - r > 60 && b - g > 20', // blue
  grey: 'Math.max(r, g, b) - Math.min(r, g, b) < 12',
};
const hue = (px, cx, cy, r, h) =>
  dec.evaluate(
    ([k, cx, cy, r, test]) => {
      const d = self.imgs[k];
      const f = new Function('r', 'g', 'b', `return ${test}`);
      let n = 0,
        m = 0;
      for (let y = Math.round(cy) - r; y <= Math.round(cy) + r; y++)
        for (let x = Math.round(cx) - r; x <= Math.round(cx) + r; x++) {
          const i = 4 * (y * d.width + x);
          n++;
          if (f(d.data[i], d.data[i + 1], d.data[i + 2])) m++;
        }
      return m / n;
    },
    [px.id, cx, cy, r, HUES[h]],
  );

await check('a cell-tracking error map colours the cells a run split (AOGM) at their frame', async () => {
  const id = (await api('/problems/cells/images')).items[0].id;
  const run = (await api('/runs?problem=cells')).items[0].id;
  const errs = await api(`/runs/${run}/errors?image=${id}`);
  const ns = errs.find((o) => o.kind === 'pred' && o.status === 'NS');
  assert(ns, `the tracker split a cell: ${errs.map((o) => o.status).join(',')}`);
  const t = ns.detail.t;
  // the cell's centroid: the run's track overlay at that frame (track = label)
  const ov = await api(`/images/${id}/overlays/run-${run}?t=${t}`);
  const c = ov.items.find((r) => r[5] === ns.detail.label);
  assert(c, `label ${ns.detail.label} has a centroid at t=${t}`);
  await page.goto(`${base}/images/${id}?layers=run:${run}&errors=${run}&t=${t}&x=${c[0] + 0.5}&y=${c[1] + 0.5}&zoom=3`);
  await settled();
  await page.waitForTimeout(800);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  const on = await hue(await canvas(), box.width / 2, box.height / 2, 12, 'split');
  await shot('viewer-tracking-errors');
  assert(/split/.test(await page.textContent('.viewer .legend')), 'the legend names the AOGM categories');
  await page.uncheck(`input[name=errors-${run}]`);
  await page.uncheck(`input[name=layer-run-${run}]`);
  await page.waitForTimeout(300);
  await settled();
  const off = await hue(await canvas(), box.width / 2, box.height / 2, 12, 'split');
  assert(on > 0.2, `the split cell is purple: ${(100 * on).toFixed(0)}% of the pixels around it`);
  assert(off < 0.02, `without the error map it is not: ${(100 * off).toFixed(0)}%`);
});

await check('a trace error map: matched, spurious and missed segments in their colours', async () => {
  const id = (await api('/problems/trace/images')).items[0].id;
  const run = (await api('/runs?problem=trace')).items[0].id;
  // the run's own segments: 2-1 matched (y=20), 5-4 spurious (y=80)
  await page.goto(`${base}/images/${id}?layers=run:${run}&errors=${run}&z=4&x=22.5&y=20.5&zoom=3`);
  await settled();
  await page.waitForTimeout(800);
  const box = await page.locator('[data-viewer=main] canvas').boundingBox();
  const m = await hue(await canvas(), box.width / 2, box.height / 2, 3, 'matched');
  assert(m > 0.1, `a matched segment is green: ${(100 * m).toFixed(0)}%`);
  await page.goto(`${base}/images/${id}?layers=run:${run}&errors=${run}&z=4&x=25.5&y=80.5&zoom=3`);
  await settled();
  await page.waitForTimeout(800);
  const spShot = await canvas();
  const sp = await hue(spShot, box.width / 2, box.height / 2, 3, 'spurious');
  assert(sp > 0.1, `a spurious segment is red: ${(100 * sp).toFixed(0)}%`);
  // a root (node 4 at x=10) has no segment: nothing drawn towards (0, 0)
  const root = await mean(spShot, box.width / 2 - 160, box.height / 2 - 320, 1);
  assert(sat(root) < 12, `no segment from a root: ${root}`);
  await shot('viewer-trace-errors');
  // the GT through the run: 4-3 and 5-4 (x=60) missed
  await page.goto(`${base}/images/${id}?layers=gt&errors=${run}&z=4&x=60.5&y=65.5&zoom=3`);
  await settled();
  await page.waitForTimeout(800);
  const mi = await hue(await canvas(), box.width / 2, box.height / 2, 3, 'missed');
  assert(mi > 0.1, `a missed GT segment is blue: ${(100 * mi).toFixed(0)}%`);
  await page.uncheck(`input[name=errors-${run}]`);
  await page.waitForTimeout(300);
  await settled();
  const plain = await mean(await canvas(), box.width / 2, box.height / 2, 1);
  assert(plain[0] > 150 && plain[1] > 120 && plain[2] < plain[1] - 50, `without the error map, in the GT yellow: ${plain}`);
});

await check('compare: two viewers move together after a pan', async () => {
  await page.goto(`${base}/compare?image=${imageId}&runs=1,2`);
  await settled('[data-viewer=v0]');
  await settled('[data-viewer=v1]');
  const v0 = await page.getAttribute('[data-viewer=v0]', 'data-view');
  const a0 = await canvas('[data-viewer=v0]'),
    b0 = await canvas('[data-viewer=v1]');
  assert((await changed(a0, b0)) > 0.01, 'the two runs differ');
  await shot('compare');
  const box = await page.locator('[data-viewer=v0] canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 60, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(800);
  const w0 = await page.getAttribute('[data-viewer=v0]', 'data-view');
  const w1 = await page.getAttribute('[data-viewer=v1]', 'data-view');
  assert(w0 !== v0, 'the first viewer moved');
  assert(w0 === w1, `both show the same view: ${w0} / ${w1}`);
  await settled('[data-viewer=v1]');
  const a1 = await canvas('[data-viewer=v0]'),
    b1 = await canvas('[data-viewer=v1]');
  const ca = await changed(a0, a1),
    cb = await changed(b0, b1);
  assert(ca > 0.05 && cb > 0.05, `both canvases changed: ${ca}, ${cb}`);
});

await check('the metric table sorts by a column', async () => {
  await page.goto(`${base}/problems/nuclei16/benchmark`);
  await page.waitForSelector('table[data-table=per-image] tbody tr');
  const col = 'table[data-table=per-image] td[data-col=r1]';
  await page.click('table[data-table=per-image] th[data-col=r1]');
  const desc = (await page.locator(col).allTextContents()).map(Number);
  await page.click('table[data-table=per-image] th[data-col=r1]');
  const asc = (await page.locator(col).allTextContents()).map(Number);
  assert(desc.length === 6 && desc.every((v, i) => i === 0 || desc[i - 1] >= v), `descending: ${desc}`);
  assert(asc.every((v, i) => i === 0 || asc[i - 1] <= v), `ascending: ${asc}`);
  assert((await page.locator('table[data-table=leaderboard] tbody tr').count()) === 2, 'two leaderboard entries');
  assert(/–/.test(await page.textContent('table[data-table=leaderboard]')), 'confidence intervals shown');
  assert((await page.locator('figure[data-plot]').count()) >= 2, 'plots drawn');
  await shot('benchmark');
});

async function login(name, password) {
  await page.goto(base + '/login');
  await page.fill('form[data-login] input[name=name]', name);
  await page.fill('form[data-login] input[name=password]', password);
  await page.click('form[data-login] button[type=submit]');
  await page.waitForSelector(`.user[data-role]`);
}
async function logout() {
  await page.click('button[name=logout]');
  await page.waitForSelector('a[href="/login"]');
}

await check('a viewer logs in, cannot see the launch form or uploads, logs out', async () => {
  await login('vic', 'vic-password-1');
  assert((await page.textContent('.user')).includes('vic'), 'vic is shown');
  await page.goto(base + '/workflows/NucleiSegmentation-C');
  await page.waitForSelector('[data-no-launch]');
  assert((await page.locator('form[data-launch]').count()) === 0, 'no launch form');
  await page.goto(base + '/problems/nuclei16');
  await page.waitForSelector('[data-gallery]');
  assert((await page.locator('[data-upload]').count()) === 0, 'no upload form');
  await logout();
  assert((await page.locator('.user').count()) === 0, 'logged out');
});

await check('a contributor launches a run from the form and sees it succeed live', async () => {
  await login('alice', 'alice-password-1');
  await page.goto(base + '/workflows/NucleiSegmentation-C?problem=nuclei16');
  await page.waitForSelector('form[data-launch]');
  // only the problems she is a member of (not 'unjoined', also ObjSeg)
  const opts = await page.locator('form[data-launch] select[name=problem] option').allTextContents();
  assert(opts.length === 1 && /nuclei16/.test(opts[0]), `the problems offered: ${opts}`);
  await page.fill('form[data-launch] input[name=sigma]', 'abc');
  await page.waitForSelector('[data-param-error=sigma]');
  assert(await page.isDisabled('button[name=launch]'), 'a bad value disables Launch');
  await page.fill('form[data-launch] input[name=sigma]', '99');
  assert(/maximum/.test(await page.textContent('[data-param-error=sigma]')), 'the range is checked');
  await page.fill('form[data-launch] input[name=sigma]', '1.5');
  await shot('launch');
  await page.click('button[name=launch]');
  await page.waitForURL(/\/runs\/\d+$/);
  await page.waitForSelector('[data-state=succeeded]', { timeout: 120000 });
  await page.waitForSelector('table[data-table=run-images] td[data-col=mAP]');
  assert(/sigma=1\.5/.test(await page.textContent('dl.facts')), 'the parameters are shown');
  await shot('run');
  await logout();
});

await check('a contributor uploads an image from the problem page', async () => {
  await login('alice', 'alice-password-1');
  await page.goto(base + '/problems/nuclei16');
  await page.waitForSelector('[data-upload] input[name=images]');
  await page.setInputFiles('[data-upload] input[name=images]', process.env.UPLOAD_IMAGE);
  await page.waitForSelector('[data-upload] p.ok');
  assert(/added upload_me\.tif/.test(await page.textContent('[data-upload]')), 'the upload is confirmed');
  await page.waitForFunction(() => document.querySelectorAll('[data-gallery] img').length === 7);
  // its thumbnail arrives once its pyramid is built (the page retries a 503)
  await page.waitForFunction(() => [...document.querySelectorAll('[data-gallery] img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30000 });
  await page.setInputFiles('[data-upload] input[name=images]', { name: 'junk.tif', mimeType: 'image/tiff', buffer: Buffer.from('not an image') });
  await page.waitForSelector('[data-upload] p.error');
  assert(/refused/.test(await page.textContent('[data-upload] p.error')), 'a bad file is refused with the reason');
  // no upload where she is not a member
  await page.goto(base + '/problems/unjoined');
  await page.waitForSelector('.user[data-role=contributor]'); // the session is in
  await page.waitForSelector('table[data-table=runs]');
  assert((await page.locator('[data-upload]').count()) === 0, 'no upload form on a problem she is not a member of');
  await logout();
});

await check('no page error, no server error', async () => {
  assert(!problems.length, problems.slice(0, 5).join('\n'));
});

await browser.close();
for (const [k, v] of Object.entries(perf)) console.log(`# perf ${k} ${Number(v).toFixed(1)}`);
console.log(`# web: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
