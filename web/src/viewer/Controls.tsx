// The panels around a viewer: Z and T (with play), channels (visibility,
// colour, contrast over a histogram), layers (visibility, opacity, error
// map), what was clicked, and links for napari.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Layer } from '../api';
import { dtypeRange, histogram, Histo, ImageInfo, Pyramid, runErrors } from './data';
import type { Channel, Picked, Shown, ViewerState } from './Viewer';
import { layerColor } from './Viewer';
import { fmt } from '../util';

export function initialChannels(info: ImageInfo, py: Pyramid): Channel[] {
  const om = py.metadata?.omero?.channels || [];
  const n = info.image.size_c || 1;
  const range = dtypeRange(py.data[0].dtype);
  const palette: [number, number, number][] = [
    [0, 255, 0],
    [255, 0, 255],
    [0, 255, 255],
    [255, 0, 0],
    [0, 0, 255],
    [255, 255, 0],
  ];
  return Array.from({ length: n }, (_, i) => {
    const o = om[i] || {};
    const hex = /^[0-9a-f]{6}$/i.test(o.color || '') ? parseInt(o.color, 16) : -1;
    const color: [number, number, number] = hex >= 0 ? [(hex >> 16) & 255, (hex >> 8) & 255, hex & 255] : n === 1 ? [255, 255, 255] : palette[i % 6];
    const w = o.window && isFinite(o.window.start) && isFinite(o.window.end) && o.window.end > o.window.start ? [o.window.start, o.window.end] : range;
    return { visible: o.active !== false && i < 6, color, window: w as [number, number] };
  });
}

export function Planes(p: { info: ImageInfo; state: ViewerState; set: (s: Partial<ViewerState>) => void }) {
  const { size_z, size_t } = p.info.image;
  const [playing, setPlaying] = useState(false);
  const st = useRef(p.state);
  st.current = p.state;
  useEffect(() => {
    if (!playing) return;
    const h = setInterval(() => p.set({ t: (st.current.t + 1) % size_t }), 400);
    return () => clearInterval(h);
  }, [playing]);
  return (
    <div class="planes">
      {size_z > 1 && (
        <label>
          Z <input type="range" name="z" min={0} max={size_z - 1} value={p.state.z} onInput={(e) => p.set({ z: +(e.target as HTMLInputElement).value })} /> {p.state.z + 1}/{size_z}
        </label>
      )}
      {size_t > 1 && (
        <label>
          T <input type="range" name="t" min={0} max={size_t - 1} value={p.state.t} onInput={(e) => p.set({ t: +(e.target as HTMLInputElement).value })} /> {p.state.t + 1}/{size_t}
          <button type="button" class="small" onClick={() => setPlaying(!playing)}>
            {playing ? '❚❚ pause' : '▶ play'}
          </button>
          tail{' '}
          <input type="number" class="tiny" min={0} max={size_t} value={p.state.tail} onInput={(e) => p.set({ tail: Math.max(0, +(e.target as HTMLInputElement).value) })} />
        </label>
      )}
    </div>
  );
}

const hex = (c: number[]) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

export function Channels(p: { info: ImageInfo; image: Pyramid; state: ViewerState; set: (s: Partial<ViewerState>) => void }) {
  const [hist, setHist] = useState<Histo[]>([]);
  const { z, t } = p.state;
  useEffect(() => {
    let live = true;
    const coarse = p.image.data[p.image.data.length - 1];
    Promise.all(p.state.channels.map((_, c) => coarse.getRaster({ selection: { t, c, z } }).then((r: any) => histogram(r.data)))).then((h) => live && setHist(h), () => {});
    return () => {
      live = false;
    };
  }, [z, t, p.info.image.id]);
  const range = dtypeRange(p.image.data[0].dtype);
  const float = !/int/i.test(p.image.data[0].dtype);
  const put = (i: number, c: Partial<Channel>) => p.set({ channels: p.state.channels.map((x, k) => (k === i ? { ...x, ...c } : x)) });
  return (
    <div class="channels">
      <h3>Channels <small>{p.image.data[0].dtype}</small></h3>
      {p.state.channels.map((c, i) => {
        const h = hist[i];
        const lo = float && h ? Math.min(h.min, c.window[0]) : range[0];
        const hi = float && h ? Math.max(h.max, c.window[1]) : Math.max(range[1], c.window[1]);
        const step = float ? (hi - lo) / 1000 || 0.001 : 1;
        return (
          <div class="channel" key={i} data-channel={i}>
            <label>
              <input type="checkbox" checked={c.visible} onChange={(e) => put(i, { visible: (e.target as HTMLInputElement).checked })} /> {i}
            </label>
            <input type="color" value={hex(c.color)} onInput={(e) => {
              const v = parseInt((e.target as HTMLInputElement).value.slice(1), 16);
              put(i, { color: [(v >> 16) & 255, (v >> 8) & 255, v & 255] });
            }} />
            {h && <Histogram h={h} win={c.window} lo={lo} hi={hi} />}
            <div class="window">
              <input type="range" name={`lo${i}`} min={lo} max={hi} step={step} value={c.window[0]} onInput={(e) => put(i, { window: [Math.min(+(e.target as HTMLInputElement).value, c.window[1] - step), c.window[1]] })} />
              <input type="range" name={`hi${i}`} min={lo} max={hi} step={step} value={c.window[1]} onInput={(e) => put(i, { window: [c.window[0], Math.max(+(e.target as HTMLInputElement).value, c.window[0] + step)] })} />
              <small>
                {fmt(c.window[0], 2)} – {fmt(c.window[1], 2)}
              </small>
              {h && (
                <button type="button" class="small" title="the plane's range" onClick={() => put(i, { window: [h.min, h.max > h.min ? h.max : h.min + 1] })}>
                  auto
                </button>
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
}

function Histogram({ h, win, lo, hi }: { h: Histo; win: [number, number]; lo: number; hi: number }) {
  const W = 180,
    H = 36;
  const max = Math.max(1, ...h.bins.map((b) => Math.log1p(b)));
  const sx = (v: number) => ((v - lo) / (hi - lo || 1)) * W;
  const bw = ((h.max - h.min) / 64 / (hi - lo || 1)) * W;
  return (
    <svg class="histogram" width={W} height={H} viewBox={`0 0 ${W} ${H}`}>
      {h.bins.map((b, i) => {
        const bh = (Math.log1p(b) / max) * H;
        return <rect key={i} x={sx(h.min + ((h.max - h.min) * i) / 64)} y={H - bh} width={Math.max(1, bw)} height={bh} />;
      })}
      <line x1={sx(win[0])} x2={sx(win[0])} y1={0} y2={H} class="win" />
      <line x1={sx(win[1])} x2={sx(win[1])} y1={0} y2={H} class="win" />
    </svg>
  );
}

export function Layers(p: { info: ImageInfo; shown: Shown[]; setShown: (s: Shown[]) => void; errorRun: number | null; setErrorRun: (r: number | null) => void }) {
  const names = p.info.layers.filter((l) => l.kind !== 'image' && l.name !== 'gt');
  const current = p.info.layers.find((l) => l.name === 'gt');
  const choices: Layer[] = current ? [current, ...names.filter((l) => !(l.kind === 'gt' && l.current))] : names;
  const get = (n: string) => p.shown.find((s) => s.name === n);
  const put = (n: string, s: Partial<Shown> | null) => {
    const old = get(n);
    if (s === null) p.setShown(p.shown.filter((x) => x.name !== n));
    else if (old) p.setShown(p.shown.map((x) => (x.name === n ? { ...x, ...s } : x)));
    else p.setShown([...p.shown, { name: n, visible: true, opacity: 0.5, ...s }]);
  };
  return (
    <div class="layers">
      <h3>Layers</h3>
      {choices.map((l) => {
        const s = get(l.name);
        const run = l.kind === 'run' ? l.ref : 0;
        return (
          <div class="layer" key={l.name} data-layer={l.name}>
            <label title={l.file}>
              <input type="checkbox" name={`layer-${l.name}`} checked={!!s && s.visible} onChange={(e) => put(l.name, (e.target as HTMLInputElement).checked ? { visible: true } : null)} />{' '}
              {l.kind === 'gt' ? (l.name === 'gt' ? 'ground truth' : `GT version ${l.ref}`) : `run ${l.ref}`} {l.title && <small>{l.title}</small>}
              {!l.ready && <small> (pyramid being built)</small>}
            </label>
            {s && <input type="range" min={0} max={1} step={0.05} value={s.opacity} title="opacity" onInput={(e) => put(l.name, { opacity: +(e.target as HTMLInputElement).value })} />}
            {s && (
              <input
                type="color"
                name={`color-${l.name}`}
                title="one colour for the whole layer"
                value={hex(s.color || layerColor(l.name))}
                onInput={(e) => {
                  const v = parseInt((e.target as HTMLInputElement).value.slice(1), 16);
                  put(l.name, { color: [(v >> 16) & 255, (v >> 8) & 255, v & 255] });
                }}
              />
            )}
            {s?.color && (
              <button type="button" class="small" title="each label in its own colour" onClick={() => put(l.name, { color: null })}>
                labels
              </button>
            )}
            {run > 0 && (
              <label class="errors">
                <input type="checkbox" name={`errors-${run}`} checked={p.errorRun === run} onChange={(e) => p.setErrorRun((e.target as HTMLInputElement).checked ? run : null)} /> error map
              </label>
            )}
          </div>
        );
      })}
      {!choices.length && <p class="muted">no ground truth or results yet</p>}
    </div>
  );
}

export function PickedPanel({ picked }: { picked: Picked | null }) {
  if (!picked) return <p class="muted">Click an object to see its id, its match and its figures.</p>;
  return (
    <div class="picked" data-picked={picked.items.length}>
      <h3>
        At ({fmt(picked.x, 1)}, {fmt(picked.y, 1)})
      </h3>
      {!picked.items.length && <p class="muted">nothing here</p>}
      {picked.items.map((it, k) => (
        <div key={k} class="pick">
          <b>{it.layer}</b> object {it.id}
          {it.object && (
            <span>
              {' '}
              — <span class={`status s-${it.object.status}`}>{it.object.status}</span>
              {it.object.match !== null && <> matches {it.object.kind === 'gt' ? 'result' : 'GT'} object {it.object.match}</>}
              {it.object.score !== null && <>, score {fmt(it.object.score)}</>}
              {Object.entries(it.object.detail || {})
                .filter(([k2]) => k2 !== 'centroid' && k2 !== 'bbox')
                .map(([k2, v]) => (
                  <>, {k2} {fmt(v as any)}</>
                ))}
            </span>
          )}
          {it.row && (
            <span>
              {' '}
              {Object.entries(it.row)
                .map(([c, v]) => `${c} ${fmt(v as any, 1)}`)
                .join(', ')}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

export function OpenIn({ info }: { info: ImageInfo }) {
  const [link, setLink] = useState<string>('');
  const [err, setErr] = useState('');
  const make = async () => {
    try {
      const r = await api<{ path: string }>(`/images/${info.image.id}/links`, { body: { expires_in: 86400 } });
      setLink(location.origin + r.path);
    } catch (e: any) {
      setErr(e.message);
    }
  };
  const base = link || location.origin + (info.layers.find((l) => l.kind === 'image')?.zarr || '');
  return (
    <div class="openin">
      <h3>Open in napari</h3>
      <p>
        <button type="button" class="small" onClick={make}>
          make a link valid 24 h
        </button>{' '}
        (works without logging in; labels under <code>/labels/NAME</code>)
      </p>
      {err && <p class="error">{err}</p>}
      <input readOnly class="copy" value={`napari --plugin napari-ome-zarr ${base}`} onFocus={(e) => (e.target as HTMLInputElement).select()} />
      {info.layers
        .filter((l) => l.kind !== 'image')
        .map((l) => (
          <div key={l.name} class="zarr-url">
            <small>{l.name}</small>{' '}
            {l.zarr ? (
              <button type="button" class="small" onClick={() => navigator.clipboard?.writeText(link ? `${link}/labels/${l.name}` : location.origin + l.zarr)}>
                copy OME-Zarr URL
              </button>
            ) : (
              <button type="button" class="small" onClick={() => navigator.clipboard?.writeText(`${location.origin}/api/v1/images/${info.image.id}/overlays/${l.name}`)}>
                copy overlay URL (JSON)
              </button>
            )}
          </div>
        ))}
    </div>
  );
}

export { runErrors };
