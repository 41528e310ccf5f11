// /images/{id}?layers=gt,run:3&errors=3&z=&t=&c=0,1&x=&y=&zoom= : the
// viewer, and /compare?image=ID&runs=a,b[,c,d]: 2 to 4 viewers sharing
// view, Z, T and channels. The URL follows the state (links reload as
// they were).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Channel, Picked, Shown, Viewer, ViewerState, View, warmDevice } from '../viewer/Viewer';
import { Channels, initialChannels, Layers, OpenIn, Planes, PickedPanel } from '../viewer/Controls';
import { ImageInfo, imageInfo, pyramid, Pyramid } from '../viewer/data';
import { Err, Loading } from '../ui';

interface Loaded {
  info: ImageInfo;
  image: Pyramid;
}

function useImage(id: number): [Loaded | null, string] {
  const [d, setD] = useState<Loaded | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    let live = true;
    (async () => {
      const info = await imageInfo(id);
      const il = info.layers.find((l) => l.kind === 'image');
      if (!il || !il.zarr) throw new Error('the image has no pyramid');
      if (!il.ready) throw new Error('the image pyramid is being built: reload in a moment');
      const image = await pyramid(il.zarr);
      if (live) setD({ info, image });
    })().catch((e) => live && setErr(e.message || String(e)));
    return () => {
      live = false;
    };
  }, [id]);
  return [d, err];
}

const q = () => new URLSearchParams(location.search);
const num = (s: string | null, d: number) => (s !== null && s !== '' && isFinite(+s) ? +s : d);
const layerName = (s: string) => s.replace(/^run:/, 'run-').replace(/^gt:/, 'gt-');
const layerParam = (s: string) => s.replace(/^run-/, 'run:').replace(/^gt-/, 'gt:');

function initialState(d: Loaded): ViewerState {
  const s = q();
  const ch = initialChannels(d.info, d.image);
  const c = s.get('c');
  if (c !== null) {
    const on = new Set(c.split(',').filter(Boolean).map(Number));
    ch.forEach((x, i) => (x.visible = on.has(i)));
  }
  const x = s.get('x'),
    y = s.get('y'),
    zoom = s.get('zoom');
  const im = d.info.image;
  return {
    z: Math.min(im.size_z - 1, Math.max(0, num(s.get('z'), Math.floor(im.size_z / 2)))),
    t: Math.min(im.size_t - 1, Math.max(0, num(s.get('t'), 0))),
    channels: ch,
    view: x !== null && y !== null && zoom !== null ? { x: num(x, 0), y: num(y, 0), zoom: num(zoom, 0) } : null,
    tail: 10,
  };
}

function writeUrl(st: ViewerState, extra: Record<string, string>) {
  const s = q();
  for (const [k, v] of Object.entries(extra)) if (v) s.set(k, v);
  else s.delete(k);
  s.set('z', String(st.z));
  s.set('t', String(st.t));
  s.set('c', st.channels.map((c, i) => (c.visible ? i : -1)).filter((i) => i >= 0).join(','));
  if (st.view) {
    s.set('x', st.view.x.toFixed(1));
    s.set('y', st.view.y.toFixed(1));
    s.set('zoom', st.view.zoom.toFixed(2));
  }
  const url = `${location.pathname}?${s.toString().replace(/%2C/g, ',').replace(/%3A/g, ':')}`;
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

// the state and a setter that merges
function useViewerState(d: Loaded | null): [ViewerState | null, (p: Partial<ViewerState>) => void] {
  const [st, setSt] = useState<ViewerState | null>(null);
  useEffect(() => {
    if (d) setSt(initialState(d));
  }, [d]);
  return [st, (p) => setSt((o) => (o ? { ...o, ...p } : o))];
}

export function ImagePage({ id }: { id: number }) {
  const warm = useMemo(() => warmDevice(), []); // while the data loads
  const [d, err] = useImage(id);
  const [st, set] = useViewerState(d);
  const [shown, setShown] = useState<Shown[]>(() =>
    (q().get('layers') || '')
      .split(',')
      .filter(Boolean)
      .map((n) => ({ name: layerName(n), visible: true, opacity: 0.5 })),
  );
  const [errorRun, setErrorRun] = useState<number | null>(() => (q().get('errors') ? num(q().get('errors'), 0) || null : null));
  const [picked, setPicked] = useState<Picked | null>(null);
  const timer = useRef<any>(0);
  useEffect(() => {
    if (!st) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => writeUrl(st, { layers: shown.map((s) => layerParam(s.name)).join(','), errors: errorRun ? String(errorRun) : '' }), 150);
  }, [st, shown, errorRun]);
  if (err) return <Err msg={err} />;
  if (!d || !st) return <Loading />;
  const im = d.info.image;
  const toggleErr = (r: number | null) => {
    setErrorRun(r);
    if (r && !shown.find((s) => s.name === `run-${r}`)) setShown([...shown, { name: `run-${r}`, visible: true, opacity: 0.5 }]);
  };
  return (
    <div class="viewer-page">
      <div class="viewer-main">
        <div class="crumbs">
          <a href={`/problems/${encodeURIComponent(im.problem)}`}>{im.problem}</a> / <b>{im.stem}</b>{' '}
          <small>
            {im.size_x}×{im.size_y}
            {im.size_z > 1 && `×${im.size_z} Z`}
            {im.size_c > 1 && `, ${im.size_c} C`}
            {im.size_t > 1 && `, ${im.size_t} T`}, {im.dtype}
          </small>
        </div>
        <Viewer name="main" warm={warm} info={d.info} image={d.image} state={st} shown={shown} errorRun={errorRun} onView={(v: View) => set({ view: v })} onPick={setPicked} />
        <Planes info={d.info} state={st} set={set} />
      </div>
      <aside class="viewer-side">
        <Layers info={d.info} shown={shown} setShown={setShown} errorRun={errorRun} setErrorRun={toggleErr} />
        <Channels info={d.info} image={d.image} state={st} set={set} />
        <PickedPanel picked={picked} />
        <OpenIn info={d.info} />
      </aside>
    </div>
  );
}

export function ComparePage() {
  const s = q();
  const id = num(s.get('image'), 0);
  const runs = (s.get('runs') || '')
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
    .slice(0, 4);
  const [d, err] = useImage(id);
  const [st, set] = useViewerState(d);
  const [errors, setErrors] = useState(s.get('errors') !== '0');
  const [picked, setPicked] = useState<Picked | null>(null);
  const timer = useRef<any>(0);
  useEffect(() => {
    if (!st) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => writeUrl(st, { errors: errors ? '' : '0' }), 150);
  }, [st, errors]);
  if (!id || runs.length < 2) return <Err msg="compare needs ?image=ID&runs=A,B (2 to 4 runs)" />;
  if (err) return <Err msg={err} />;
  if (!d || !st) return <Loading />;
  const missing = runs.filter((r) => !d.info.layers.find((l) => l.name === `run-${r}`));
  return (
    <div class="compare-page">
      <div class="crumbs">
        Compare on <a href={`/images/${id}?layers=gt`}>{d.info.image.stem}</a> ({d.info.image.problem}){' '}
        <label>
          <input type="checkbox" name="errors" checked={errors} onChange={(e) => setErrors((e.target as HTMLInputElement).checked)} /> error maps
        </label>
      </div>
      {missing.length > 0 && <Err msg={`no result of run ${missing.join(', ')} for this image`} />}
      <div class={`compare n${runs.length}`}>
        {runs.map((r, k) => (
          <div class="compare-cell" key={r}>
            <div class="compare-title">
              <a href={`/runs/${r}`}>run {r}</a> {d.info.layers.find((l) => l.name === `run-${r}`)?.title}
            </div>
            <Viewer name={`v${k}`} info={d.info} image={d.image} state={st} shown={[{ name: `run-${r}`, visible: true, opacity: 0.5 }]} errorRun={errors ? r : null} onView={(v: View) => set({ view: v })} onPick={setPicked} />
          </div>
        ))}
      </div>
      <div class="compare-controls">
        <Planes info={d.info} state={st} set={set} />
        <Channels info={d.info} image={d.image} state={st} set={(p: Partial<ViewerState>) => set(p as { channels: Channel[] })} />
        <PickedPanel picked={picked} />
      </div>
    </div>
  );
}
