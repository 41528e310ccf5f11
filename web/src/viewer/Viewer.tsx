// One viewer: a deck.gl canvas with Viv's multiscale OME-Zarr layers (the
// image's channels with colour and contrast on the GPU, label masks),
// deck.gl vector layers for points, tracks and traces, and a run's error
// map. Its state (view, Z, T, channels) belongs to the page, so that
// several viewers can share it (compare).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Deck, OrthographicView } from '@deck.gl/core';
import { luma } from '@luma.gl/core';
import { webgl2Adapter } from '@luma.gl/webgl';
import { BitmapLayer, PathLayer, ScatterplotLayer, LineLayer } from '@deck.gl/layers';
import { MultiscaleImageLayer } from '@vivjs/layers';
import { ColorPaletteExtension } from '@vivjs/extensions';
import { LabelExtension } from './labels';
import { category, ErrObject, hasMasks, ImageInfo, overlay, Overlay, plane, Pyramid, pyramid, runErrors, VECTOR_CLASSES } from './data';
import { statusColor } from '../util';
import { takeEarlyCanvas } from '../lazy';

export interface View {
  x: number; // the centre, in pixels of the finest level
  y: number;
  zoom: number; // log2 of screen pixels per image pixel
}
export interface Channel {
  visible: boolean;
  color: [number, number, number];
  window: [number, number];
}
export interface Shown {
  name: string; // gt, gt-<v>, run-<r>
  visible: boolean;
  opacity: number;
  color?: [number, number, number] | null; // null: each label its own colour
}
export interface ViewerState {
  z: number;
  t: number;
  channels: Channel[];
  view: View | null;
  tail: number; // frames of a track's tail
}
export interface Picked {
  x: number;
  y: number;
  items: { layer: string; id: number; object?: ErrObject; row?: Record<string, unknown> }[];
}

interface Props {
  name: string; // data-viewer, for tests and links
  info: ImageInfo;
  image: Pyramid;
  state: ViewerState;
  shown: Shown[];
  errorRun: number | null;
  onView: (v: View) => void;
  onPick?: (p: Picked) => void;
  warm?: Warm; // a WebGL device made early (warmDevice)
}

export interface Warm {
  canvas: HTMLCanvasElement;
  device: Promise<any>;
  onResize: () => void;
}

// A WebGL2 device, made before the viewer mounts (the image page starts it
// with its first API calls), on the context the app made while the
// viewer's code loaded (lazy.tsx) or else on a canvas of its own: creating
// the context is a good part of a viewer's start on a software GPU.
export function warmDevice(): Warm {
  const canvas = takeEarlyCanvas() || document.createElement('canvas');
  const w: Warm = { canvas, device: Promise.resolve(null), onResize: () => {} };
  w.device = luma.createDevice({
    _reuseDevices: true,
    type: 'webgl',
    adapters: [webgl2Adapter],
    _cacheShaders: true,
    _cachePipelines: true,
    createCanvasContext: { canvas, useDevicePixels: true, autoResize: true },
    onResize: () => w.onResize(),
  } as any);
  return w;
}

const MAX_CHANNELS = 6; // what Viv draws at once
const MAX_INSTANCES = 20000; // points drawn one by one at most

// Points as a raster (at most 2048 pixels a side), each in its colour.
const rasters = new WeakMap<any[], Map<string, HTMLCanvasElement>>();
function pointRaster(items: any[][], W: number, H: number, color: (r: any[]) => number[], k: string): HTMLCanvasElement {
  let m = rasters.get(items);
  if (!m) rasters.set(items, (m = new Map()));
  const hit = m.get(k);
  if (hit) return hit;
  const f = Math.min(1, 2048 / Math.max(W, H));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(W * f));
  c.height = Math.max(1, Math.round(H * f));
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(c.width, c.height);
  for (const r of items) {
    const x = Math.min(c.width - 1, Math.floor(r[0] * f)),
      y = Math.min(c.height - 1, Math.floor(r[1] * f));
    const i = 4 * (y * c.width + x),
      col = color(r);
    img.data[i] = col[0];
    img.data[i + 1] = col[1];
    img.data[i + 2] = col[2];
    img.data[i + 3] = col[3];
  }
  ctx.putImageData(img, 0, 0);
  m.set(k, c);
  return c;
}

export function layerColor(name: string): [number, number, number] {
  if (name.startsWith('gt')) return [255, 220, 0];
  const n = parseInt(name.replace(/\D+/g, ''), 10) || 1;
  const h = (n * 0.618033988749895) % 1;
  const f = (k: number) => {
    const x = (k + h * 6) % 6;
    return Math.round(255 * (0.95 - 0.95 * 0.75 * Math.max(0, Math.min(1, Math.min(x, 4 - x)))));
  };
  return [f(5), f(3), f(1)];
}

export function Viewer(p: Props) {
  const box = useRef<HTMLDivElement>(null);
  const born = useRef(performance.now());
  const canvas = useRef<HTMLCanvasElement>(null);
  const deck = useRef<any>(null);
  const [labels, setLabels] = useState<Record<string, Pyramid>>({});
  const [vectors, setVectors] = useState<Record<string, Overlay>>({});
  const [errmap, setErrmap] = useState<{ key: string; image: ImageBitmap | HTMLCanvasElement } | null>(null);
  const [errObjs, setErrObjs] = useState<ErrObject[] | null>(null);
  const [picked, setPicked] = useState<Picked | null>(null);
  const [failed, setFailed] = useState<string>('');
  const loads = useRef(0);
  const { info, state } = p;
  const W = info.image.size_x,
    H = info.image.size_y;
  const cls = info.cls;
  const vkind = VECTOR_CLASSES[cls];
  const byName = new Map(info.layers.map((l) => [l.name, l]));
  const pickRef = useRef<(i: any) => void>(() => {});
  // the image's sources, noting when the first tile was in (decoded): the
  // browser tests and bench/web read it from data-first-tiles-ms
  const sources = useMemo(
    () =>
      p.image.data.map(
        (src: any) =>
          new Proxy(src, {
            get(t, k) {
              if (k === 'getTile')
                return async (a: any) => {
                  const r = await t.getTile(a);
                  const el = box.current;
                  if (el && !el.dataset.firstTilesMs) el.dataset.firstTilesMs = (performance.now() - born.current).toFixed(1);
                  return r;
                };
              const v = t[k];
              return typeof v === 'function' ? v.bind(t) : v;
            },
          }),
      ),
    [p.image],
  );

  // the deck, once: on the page's warm device (made while the page loaded
  // its data) or on a device of its own
  const [ready, setReady] = useState(0);
  useEffect(() => {
    let d: any = null,
      gone = false;
    const c = p.warm ? p.warm.canvas : canvas.current!;
    if (p.warm) {
      canvas.current!.replaceWith(c);
      p.warm.onResize = () => d?.redraw('resized');
    }
    const make = (device: any) => {
      if (gone) return;
      d = new Deck({
        ...(device ? { device } : { canvas: c }),
        views: [new OrthographicView({ id: 'ortho', controller: true })],
        initialViewState: { target: [W / 2, H / 2, 0], zoom: 0 },
        controller: true,
        useDevicePixels: true,
        getCursor: ({ isDragging }: any) => (isDragging ? 'grabbing' : 'crosshair'),
        onViewStateChange: ({ viewState }: any) => {
          p.onView({ x: viewState.target[0], y: viewState.target[1], zoom: viewState.zoom });
          return viewState;
        },
        onAfterRender: () => {
          const el = box.current;
          if (el) el.dataset.frames = String(Number(el.dataset.frames || 0) + 1);
        },
        layers: [],
      } as any);
      deck.current = d;
      setReady((k) => k + 1);
    };
    if (p.warm) p.warm.device.then(make, () => make(null));
    else make(null);
    // a click (a press and release without moving): what is under it.
    // (deck's own click waits to rule out a double click, and is not
    // called when a layer that takes clicks is under the pointer)
    let down: [number, number] | null = null;
    const pd = (e: PointerEvent) => (down = [e.offsetX, e.offsetY]);
    const pu = (e: PointerEvent) => {
      if (!d || !down || Math.hypot(e.offsetX - down[0], e.offsetY - down[1]) > 3) return;
      down = null;
      const vp = d.getViewports()[0];
      if (!vp) return;
      pickRef.current({ coordinate: vp.unproject([e.offsetX, e.offsetY]), zoom: vp.zoom });
    };
    c.addEventListener('pointerdown', pd);
    c.addEventListener('pointerup', pu);
    return () => {
      gone = true;
      c.removeEventListener('pointerdown', pd);
      c.removeEventListener('pointerup', pu);
      d?.finalize();
      deck.current = null;
      p.warm?.device.then((dev: any) => dev.destroy(), () => {});
    };
  }, []);

  // fit the image when the page has no view yet
  useEffect(() => {
    if (state.view || !box.current) return;
    const r = box.current.getBoundingClientRect();
    const zoom = Math.log2(Math.min(r.width / W, r.height / H) * 0.95);
    p.onView({ x: W / 2, y: H / 2, zoom: Math.min(zoom, 4) });
  }, [state.view]);

  // label pyramids of the shown mask layers
  useEffect(() => {
    if (!hasMasks(cls)) return;
    for (const s of p.shown) {
      const l = byName.get(s.name);
      if (!l || !l.zarr || labels[s.name] || !l.ready) continue;
      pyramid(l.zarr).then(
        (py) => setLabels((o) => ({ ...o, [s.name]: py })),
        (e) => setFailed(`${s.name}: ${e.message || e}`),
      );
    }
  }, [p.shown.map((s) => s.name).join(',')]);

  // vector overlays of the shown layers (the plane; tracks: every frame)
  useEffect(() => {
    if (!vkind) return;
    let live = true;
    for (const s of p.shown) {
      if (!byName.get(s.name)) continue;
      const q = vkind === 'tracks' ? { z: undefined, run: p.errorRun || undefined } : { z: state.z, t: state.t, run: p.errorRun || undefined };
      overlay(info.image.id, s.name, q).then(
        (o) => live && setVectors((v) => ({ ...v, [s.name]: o })),
        (e) => live && setFailed(`${s.name}: ${e.message || e}`),
      );
    }
    return () => {
      live = false;
    };
  }, [p.shown.map((s) => s.name).join(','), vkind === 'tracks' ? 0 : state.z, vkind === 'tracks' ? 0 : state.t, p.errorRun]);

  // the error map of a run on a mask class: each object of the run in its
  // category's colour (TP, FP, split, merged), the GT objects it missed (FN)
  useEffect(() => {
    setErrObjs(null);
    if (!p.errorRun) {
      setErrmap(null);
      return;
    }
    let live = true;
    runErrors(p.errorRun, info.image.id).then((objs) => live && setErrObjs(objs), (e) => live && setFailed(`error map: ${e.message || e}`));
    return () => {
      live = false;
    };
  }, [p.errorRun, info.image.id]);

  useEffect(() => {
    if (!p.errorRun || !errObjs || !hasMasks(cls)) return;
    const run = byName.get(`run-${p.errorRun}`),
      gt = byName.get('gt');
    if (!run?.zarr || !gt?.zarr || W * H > 4096 * 4096) return;
    let live = true;
    const key = `${p.errorRun}|${state.z}|${state.t}`;
    Promise.all([plane(run.zarr, state.z, state.t), plane(gt.zarr, state.z, state.t)]).then(([pr, pg]) => {
      if (!live) return;
      const pred = new Map<number, string>(),
        gtc = new Map<number, string>();
      const track = cls === 'ObjTrk';
      for (const o of errObjs) {
        // tracking: the AOGM operations of this frame, on the label they name
        if (track && o.detail?.t !== state.t) continue;
        const m = o.kind === 'pred' ? pred : gtc;
        const id = track ? Number(o.detail?.label) : o.id;
        if (!m.has(id)) m.set(id, category(o));
      }
      const c = document.createElement('canvas');
      c.width = W;
      c.height = H;
      const ctx = c.getContext('2d')!;
      const img = ctx.createImageData(W, H);
      const px = img.data;
      const cache = new Map<string, [number, number, number]>();
      const col = (s: string) => {
        let v = cache.get(s);
        if (!v) cache.set(s, (v = statusColor(s)));
        return v;
      };
      for (let i = 0; i < W * H; i++) {
        const a = pr.data[i],
          b = pg.data[i];
        let s: string | undefined;
        if (track) {
          // a result object's operation, else the GT object's (a missed
          // object or link); correct objects stay uncoloured
          s = (a && pred.get(a)) || (b && gtc.get(b)) || undefined;
        } else if (a) s = pred.get(a) || 'FP';
        else if (b) {
          const g = gtc.get(b);
          if (g === 'FN' || g === 'split') s = g;
        }
        if (!s) continue;
        const [r, gg, bb] = col(s);
        px[4 * i] = r;
        px[4 * i + 1] = gg;
        px[4 * i + 2] = bb;
        px[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      setErrmap({ key, image: c });
    }, (e) => live && setFailed(`error map: ${e.message || e}`));
    return () => {
      live = false;
    };
  }, [p.errorRun, errObjs, state.z, state.t]);

  // clicks: what is under the pointer in every shown layer
  pickRef.current = async (i: any) => {
    if (!i.coordinate) return;
    const [x, y] = i.coordinate;
    const items: Picked['items'] = [];
    // the nearest point (track head, trace node) within 6 screen pixels
    const reach = 6 / Math.pow(2, i.zoom ?? 0);
    for (const s of p.shown) {
      const ov = vectors[s.name];
      if (!ov || !s.visible) continue;
      let best: any[] | null = null,
        bd = reach * reach;
      for (const r of ov.items) {
        if (ov.kind === 'tracks' && r[3] !== state.t) continue;
        const dx = r[0] + 0.5 - x,
          dy = r[1] + 0.5 - y,
          d2 = dx * dx + dy * dy;
        if (d2 <= bd) (bd = d2), (best = r);
      }
      if (!best) continue;
      const row: Record<string, unknown> = {};
      ov.columns.forEach((c, k) => (row[c] = best![k]));
      items.push({ layer: s.name, id: Number(row.id ?? row.track ?? 0), row });
    }
    const xi = Math.floor(x),
      yi = Math.floor(y);
    if (hasMasks(cls) && xi >= 0 && yi >= 0 && xi < W && yi < H) {
      for (const s of p.shown) {
        const l = byName.get(s.name);
        if (!l?.zarr || !s.visible) continue;
        const pl = await plane(l.zarr, state.z, state.t);
        const id = pl.data[yi * pl.width + xi];
        if (!id) continue;
        let object: ErrObject | undefined;
        if (errObjs) {
          const kind = s.name === `run-${p.errorRun}` ? 'pred' : s.name.startsWith('gt') ? 'gt' : '';
          object = errObjs.find((o) => o.kind === kind && o.id === id);
        }
        items.push({ layer: s.name, id, object });
      }
    }
    const pk = { x, y, items };
    setPicked(items.length ? pk : null);
    p.onPick?.(pk);
  };

  // vector layers: made again only when what they show changes (deck
  // then keeps their GPU buffers)
  const shownKey = JSON.stringify(p.shown);
  // the region whose points are drawn: around the view, snapped to a grid
  // of half a view (it changes only when the view moves that far or the
  // zoom level changes), two views wide each way
  let win: number[] | null = null,
    winKey = '';
  const rect = box.current?.getBoundingClientRect();
  if (state.view && rect && rect.width) {
    const sc = Math.pow(2, Math.floor(state.view.zoom));
    const hw = rect.width / 2 / sc,
      hh = rect.height / 2 / sc;
    const qx = Math.round(state.view.x / hw),
      qy = Math.round(state.view.y / hh);
    win = [qx * hw - 2 * hw, qy * hh - 2 * hh, qx * hw + 2 * hw, qy * hh + 2 * hh];
    winKey = `${Math.floor(state.view.zoom)}|${qx}|${qy}`;
  }
  const vlayers = useMemo(() => {
    const layers: any[] = [];
    if (vkind)
      for (const s of p.shown) {
        const ov = vectors[s.name];
        if (!ov || !s.visible) continue;
        const base = s.color || layerColor(s.name);
        const st = ov.columns.indexOf('status');
        const color = (r: any[]) => {
          const c = p.errorRun && r[st] ? statusColor(r[st]) : base;
          return [c[0], c[1], c[2], Math.round(255 * s.opacity)];
        };
        if (ov.kind === 'points') {
          // level of detail: the points of the region around the view when
          // they are few enough to draw one by one, else all of them as a
          // raster (a software GPU draws 100,000 instances in seconds)
          const data = win ? ov.items.filter((r) => r[0] >= win[0] && r[0] <= win[2] && r[1] >= win[1] && r[1] <= win[3]) : ov.items;
          if (data.length > MAX_INSTANCES) {
            layers.push(new BitmapLayer({ id: `points-raster-${s.name}`, image: pointRaster(ov.items, W, H, color, `${s.name}|${s.opacity}|${p.errorRun}`), bounds: [0, H, W, 0], textureParameters: { minFilter: 'linear', magFilter: 'nearest' } } as any));
            continue;
          }
          layers.push(
            new ScatterplotLayer({
              id: `points-${s.name}`,
              overlayName: s.name,
              data,
              getPosition: (r: any[]) => [r[0] + 0.5, r[1] + 0.5],
              getFillColor: color,
              // 3 image pixels, at least 1.5 and at most 6 screen pixels:
              // zoomed out, 100,000 points cost little to draw
              radiusUnits: 'common',
              getRadius: 3,
              radiusMinPixels: 1.5,
              radiusMaxPixels: 6,
              stroked: ov.items.length < 20000,
              getLineColor: [0, 0, 0, 160],
              lineWidthUnits: 'pixels',
              getLineWidth: 1,
              pickable: false, // clicks are resolved in JS: no picking pass on every move
              updateTriggers: { getFillColor: [p.errorRun, s.opacity] },
            } as any),
          );
        } else if (ov.kind === 'tracks') {
          // the dragon tail: each track's positions over [t - tail, t]
          const tracks = new Map<number, any[][]>();
          const now: any[][] = [];
          for (const r of ov.items) {
            const t = r[3];
            if (t > state.t || t < state.t - state.tail) continue;
            let a = tracks.get(r[5]);
            if (!a) tracks.set(r[5], (a = []));
            a.push(r);
            if (t === state.t) now.push(r);
          }
          const paths = [...tracks.values()].filter((a) => a.length > 1).map((a) => a.sort((u, v) => u[3] - v[3]));
          layers.push(
            new PathLayer({
              id: `tails-${s.name}`,
              overlayName: s.name,
              data: paths,
              getPath: (a: any[][]) => a.map((r) => [r[0] + 0.5, r[1] + 0.5]),
              getColor: (a: any[][]) => color(a[a.length - 1]),
              widthUnits: 'pixels',
              getWidth: 2,
              updateTriggers: { getColor: [p.errorRun, s.opacity] },
            } as any),
            new ScatterplotLayer({
              id: `heads-${s.name}`,
              overlayName: s.name,
              data: now,
              getPosition: (r: any[]) => [r[0] + 0.5, r[1] + 0.5],
              getFillColor: color,
              radiusUnits: 'pixels',
              getRadius: 4,
              pickable: false, // clicks are resolved in JS: no picking pass on every move
              updateTriggers: { getFillColor: [p.errorRun, s.opacity] },
            } as any),
          );
        } else {
          layers.push(
            new LineLayer({
              id: `trace-${s.name}`,
              overlayName: s.name,
              data: ov.items.filter((r) => r[5] !== null), // a root has no segment
              getSourcePosition: (r: any[]) => [r[0] + 0.5, r[1] + 0.5],
              getTargetPosition: (r: any[]) => [r[5] + 0.5, r[6] + 0.5],
              // each segment (a node to its parent) in its edge's error
              // category: matched, missed (GT) or spurious (result)
              getColor: color,
              widthUnits: 'pixels',
              getWidth: p.errorRun ? 3 : 2,
              updateTriggers: { getColor: [p.errorRun, s.opacity], getWidth: [p.errorRun] },
              pickable: false, // clicks are resolved in JS: no picking pass on every move
            } as any),
          );
        }
      }
    return layers;
    // eslint-disable-next-line
  }, [vectors, shownKey, p.errorRun, state.t, state.tail, winKey]);

  // the layers
  useEffect(() => {
    const d = deck.current;
    if (!d || !state.view) return;
    const layers: any[] = [];
    const chans = state.channels.map((c, i) => ({ ...c, i })).filter((c) => c.visible).slice(0, MAX_CHANNELS);
    if (chans.length)
      layers.push(
        new (MultiscaleImageLayer as any)({
          id: 'image',
          loader: sources,
          selections: chans.map((c) => ({ t: state.t, c: c.i, z: state.z })),
          contrastLimits: chans.map((c) => c.window),
          colors: chans.map((c) => c.color),
          channelsVisible: chans.map(() => true),
          extensions: [new ColorPaletteExtension()],
          onViewportLoad: () => {
            loads.current++;
            const el = box.current;
            if (!el) return;
            if (!el.dataset.firstViewMs) {
              el.dataset.firstViewMs = (performance.now() - born.current).toFixed(1);
              el.dataset.firstViewAt = performance.now().toFixed(1); // since navigation
            }
            el.dataset.loaded = String(loads.current);
          },
        }),
      );
    if (hasMasks(cls))
      for (const s of p.shown) {
        const py = labels[s.name];
        if (!py || !s.visible) continue;
        if (errmap && s.name === `run-${p.errorRun}`) continue; // the error map shows it
        layers.push(
          new (MultiscaleImageLayer as any)({
            id: `labels-${s.name}`,
            loader: py.data,
            selections: [{ t: state.t, c: 0, z: state.z }],
            contrastLimits: [[0, 1]],
            channelsVisible: [true],
            extensions: [new LabelExtension()],
            labelOpacity: s.opacity,
            onViewportLoad: () => {
              const el = box.current;
              if (el) el.dataset.labels = String(Number(el.dataset.labels || 0) + 1);
            },
            labelColor: s.color || (p.shown.length > 1 || p.errorRun ? layerColor(s.name) : null),
          }),
        );
      }
    if (errmap && p.errorRun)
      layers.push(new BitmapLayer({ id: `errors-${errmap.key}`, image: errmap.image as any, bounds: [0, H, W, 0], opacity: 0.6, textureParameters: { minFilter: 'nearest', magFilter: 'nearest' } } as any));
    layers.push(...vlayers);
    if (picked)
      layers.push(
        new ScatterplotLayer({
          id: 'picked',
          data: [picked],
          getPosition: (q: Picked) => [q.x, q.y],
          radiusUnits: 'pixels',
          getRadius: 9,
          filled: false,
          stroked: true,
          getLineColor: [255, 255, 255],
          lineWidthUnits: 'pixels',
          getLineWidth: 2,
        } as any),
      );
    d.setProps({
      layers,
      viewState: { target: [state.view.x, state.view.y, 0], zoom: state.view.zoom },
    });
    if (box.current) box.current.dataset.view = JSON.stringify(state.view);
  }); // every render (a new deck, new data, a new view...)
  void ready;

  return (
    <div class="viewer" ref={box} data-viewer={p.name} data-image={info.image.id}>
      <canvas ref={canvas} />
      {failed && <div class="viewer-error">{failed}</div>}
      {p.errorRun && (
        <div class="legend">
          {Object.entries(errLegend(cls)).map(([k, c]) => (
            <span key={k}>
              <i style={{ background: `rgb(${c.join(',')})` }} />
              {k}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

function errLegend(cls: string): Record<string, [number, number, number]> {
  const keys =
    cls === 'ObjTrk'
      ? ['FN', 'FP', 'split', 'missed link', 'spurious link', 'switched link']
      : cls === 'TreTrc'
        ? ['matched', 'spurious', 'missed']
        : cls === 'LndDet'
          ? ['located', 'spurious']
          : VECTOR_CLASSES[cls] === 'tracks'
            ? ['paired', 'spurious', 'missed']
            : VECTOR_CLASSES[cls]
              ? ['TP', 'FP', 'FN']
              : ['TP', 'FP', 'FN', 'split', 'merged'];
  return Object.fromEntries(keys.map((k) => [k, statusColor(k)]));
}
