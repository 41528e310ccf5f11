// /problems/{name}/benchmark: the leaderboard with confidence intervals,
// rank intervals and ties; every metric overall and per image (sortable,
// filterable, CSV); plots. A per-image cell opens the viewer on that image
// with that run's error map.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Err, Loading, Table, useLoad } from '../ui';
import { csvOf, download, fmt } from '../util';

interface Entry {
  rank: number;
  entry: string;
  params: Record<string, string>;
  run: number;
  n: number;
  n_nan: number;
  mean: number | null;
  sd: number | null;
  median: number | null;
  ci95: [number | null, number | null];
  rank_interval: [number | null, number | null];
  leader: boolean;
  tied_with_first: boolean | null;
  rank_shared: boolean;
  vs_leader: any;
}
interface Board {
  problem: string;
  class: string;
  metric: string;
  direction: 'higher' | 'lower';
  images: number;
  note?: string;
  too_few_images: boolean;
  friedman: any;
  entries: Entry[];
}

function label(e: Entry, all: Entry[]): string {
  const same = all.filter((x) => x.entry === e.entry);
  if (same.length < 2) return e.entry;
  const keys = Object.keys(e.params).filter((k) => same.some((x) => x.params[k] !== e.params[k]));
  return `${e.entry} ${keys.map((k) => `${k}=${e.params[k]}`).join(' ')}`;
}

export function Leaderboard({ problem, compact }: { problem: string; compact?: boolean }) {
  const [b, err] = useLoad(() => api<Board>(`/problems/${encodeURIComponent(problem)}/leaderboard`), [problem]);
  if (err) return <Err msg={err} />;
  if (!b) return <Loading />;
  return <BoardTable b={b} compact={compact} />;
}

function BoardTable({ b, compact }: { b: Board; compact?: boolean }) {
  if (!b.entries.length) return <p class="muted">Nothing has run on this problem yet.</p>;
  return (
    <div class="board">
      {b.note && <p class="note">{b.note}</p>}
      <Table
        name="leaderboard"
        rows={b.entries}
        rowKey={(e) => e.run}
        cols={[
          { key: 'rank', label: 'Rank', num: true, cell: (e) => <>{e.rank}{e.rank_shared && <span title="rank shared: tied">=</span>}</> },
          { key: 'entry', label: 'Workflow', value: (e) => label(e, b.entries), cell: (e) => <a href={`/runs/${e.run}`}>{label(e, b.entries)}</a> },
          { key: 'mean', label: `${b.metric} (${b.direction})`, num: true, cell: (e) => fmt(e.mean) },
          { key: 'ci95', label: '95% CI', value: (e) => e.ci95[0], cell: (e) => (e.ci95[0] === null ? '—' : `${fmt(e.ci95[0])} – ${fmt(e.ci95[1])}`), title: 'bootstrap over images' },
          { key: 'rank_interval', label: 'Rank interval', value: (e) => e.rank_interval[0], cell: (e) => (e.rank_interval[0] === null ? '—' : `${e.rank_interval[0]} – ${e.rank_interval[1]}`) },
          { key: 'tied', label: 'vs leader', value: (e) => (e.leader ? 0 : e.tied_with_first ? 1 : 2), cell: (e) => (e.leader ? 'leader' : e.tied_with_first === null ? '—' : e.tied_with_first ? 'tied with the leader' : 'worse') },
          ...(compact ? [] : [{ key: 'median', label: 'Median', num: true, cell: (e: Entry) => fmt(e.median) }, { key: 'sd', label: 'SD', num: true, cell: (e: Entry) => fmt(e.sd) }, { key: 'n', label: 'Images', num: true }]),
        ]}
      />
      {b.friedman && !compact && (
        <p class="muted">
          Friedman test over {b.entries.length} entries: p = {fmt(b.friedman.p_value ?? b.friedman.p)}
        </p>
      )}
    </div>
  );
}

type Row = Record<string, any>;

export function BenchmarkPage({ name }: { name: string }) {
  const [d, err] = useLoad(async () => {
    const b = await api<Board>(`/problems/${encodeURIComponent(name)}/leaderboard`);
    const per = await Promise.all(b.entries.map((e) => api<{ items: Row[] }>(`/runs/${e.run}/metrics?limit=1000`).then((r) => r.items)));
    return { b, per };
  }, [name]);
  const [metric, setMetric] = useState<string>('');
  const [filter, setFilter] = useState('');
  const [pair, setPair] = useState<[number, number] | null>(null);
  if (err) return <Err msg={err} />;
  if (!d) return <Loading />;
  const { b, per } = d;
  const metrics: string[] = [];
  for (const rows of per) for (const r of rows) for (const k of Object.keys(r)) if (!['image', 'stem', 'status'].includes(k) && !metrics.includes(k)) metrics.push(k);
  metrics.sort((x, y) => (x === b.metric ? -1 : y === b.metric ? 1 : 0));
  const m = metric || b.metric;
  const names = b.entries.map((e) => label(e, b.entries));
  // overall: the mean of every metric per entry
  const overall: Row[] = b.entries.map((e, i) => {
    const r: Row = { rank: e.rank, entry: names[i], run: e.run };
    for (const k of metrics) {
      const v = per[i].map((x) => x[k]).filter((x) => typeof x === 'number' && isFinite(x));
      r[k] = v.length ? v.reduce((a, c) => a + c, 0) / v.length : null;
    }
    return r;
  });
  // per image: a row per image, a column per entry (the chosen metric)
  const byImage = new Map<number, Row>();
  per.forEach((rows, i) => {
    for (const r of rows) {
      let row = byImage.get(r.image);
      if (!row) byImage.set(r.image, (row = { image: r.image, stem: r.stem }));
      row[`r${b.entries[i].run}`] = r[m];
    }
  });
  const imgRows = [...byImage.values()].filter((r) => !filter || String(r.stem).includes(filter));
  const [pa, pb] = pair || [b.entries[0]?.run, b.entries[1]?.run];
  return (
    <section class="benchmark">
      <h1>
        Benchmark of <a href={`/problems/${encodeURIComponent(name)}`}>{name}</a> <small class="tag">{b.class}</small>
      </h1>
      <h2>Leaderboard</h2>
      <BoardTable b={b} />
      {b.entries.length > 0 && (
        <>
          <h2>
            Every metric, overall{' '}
            <button type="button" class="small" onClick={() => download(`${name}-overall.csv`, csvOf(['rank', 'entry', 'run', ...metrics], overall))}>
              CSV
            </button>
          </h2>
          <Table name="overall" rows={overall} rowKey={(r) => r.run} cols={[{ key: 'rank', label: 'Rank', num: true }, { key: 'entry', label: 'Workflow', cell: (r) => <a href={`/runs/${r.run}`}>{r.entry}</a> }, ...metrics.map((k) => ({ key: k, label: k, num: true, cell: (r: Row) => fmt(r[k]) }))]} />
          <h2>
            Per image{' '}
            <select name="metric" value={m} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
              {metrics.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>{' '}
            <input type="search" name="filter" placeholder="filter images" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />{' '}
            <button type="button" class="small" onClick={() => download(`${name}-${m}-per-image.csv`, csvOf(['image', 'stem', ...b.entries.map((e) => `r${e.run}`)], imgRows))}>
              CSV
            </button>
          </h2>
          <Table
            name="per-image"
            rows={imgRows}
            rowKey={(r) => r.image}
            cols={[
              { key: 'stem', label: 'Image', cell: (r) => <a href={`/images/${r.image}?layers=gt`}>{r.stem}</a> },
              ...b.entries.map((e, i) => ({
                key: `r${e.run}`,
                label: names[i],
                num: true,
                cell: (r: Row) => <a href={`/images/${r.image}?layers=gt,run:${e.run}&errors=${e.run}`} title="open the viewer with this run's error map">{fmt(r[`r${e.run}`])}</a>,
              })),
            ]}
          />
          <h2>Plots</h2>
          <div class="plots">
            <Strip title={`${m} per image, per workflow`} names={names} values={per.map((rows) => rows.map((r) => r[m]))} />
            {b.entries.length > 1 && (
              <div>
                <Pair a={pa} b={pb} entries={b.entries} names={names} per={per} m={m} setPair={setPair} />
              </div>
            )}
            <Sweep entries={b.entries} metric={b.metric} />
          </div>
        </>
      )}
    </section>
  );
}

const PW = 360,
  PH = 240,
  PAD = 36;

function ticks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  return [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
}

function range(vals: number[]): [number, number] {
  const v = vals.filter((x) => typeof x === 'number' && isFinite(x));
  if (!v.length) return [0, 1];
  let lo = Math.min(...v),
    hi = Math.max(...v);
  if (hi === lo) (lo -= 0.5), (hi += 0.5);
  return [lo, hi];
}

// Per-image values of each entry: dots (jittered) and the mean.
function Strip({ title, names, values }: { title: string; names: string[]; values: number[][] }) {
  const [lo, hi] = range(values.flat());
  const y = (v: number) => PH - PAD - ((v - lo) / (hi - lo)) * (PH - 2 * PAD);
  const bw = (PW - PAD) / names.length;
  return (
    <figure class="plot" data-plot="strip">
      <svg width={PW} height={PH}>
        {ticks(lo, hi).map((t) => (
          <g key={t}>
            <line x1={PAD} x2={PW} y1={y(t)} y2={y(t)} class="grid" />
            <text x={PAD - 4} y={y(t) + 4} text-anchor="end">
              {fmt(t, 2)}
            </text>
          </g>
        ))}
        {values.map((vs, i) => {
          const cx = PAD + bw * (i + 0.5);
          const ok = vs.filter((v) => typeof v === 'number' && isFinite(v));
          const mean = ok.reduce((a, c) => a + c, 0) / (ok.length || 1);
          return (
            <g key={i}>
              {ok.map((v, k) => (
                <circle key={k} cx={cx + (((k * 0.618) % 1) - 0.5) * bw * 0.5} cy={y(v)} r={2.5} class="dot" />
              ))}
              {ok.length > 0 && <line x1={cx - bw * 0.35} x2={cx + bw * 0.35} y1={y(mean)} y2={y(mean)} class="mean" />}
              <text x={cx} y={PH - PAD + 14} text-anchor="middle" class="small">
                {names[i].length > 18 ? names[i].slice(0, 17) + '…' : names[i]}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

function Pair(p: { a: number; b: number; entries: Entry[]; names: string[]; per: Row[][]; m: string; setPair: (x: [number, number]) => void }) {
  const ia = p.entries.findIndex((e) => e.run === p.a),
    ib = p.entries.findIndex((e) => e.run === p.b);
  const mb = new Map(p.per[ib].map((r) => [r.image, r]));
  const pts = p.per[ia].filter((r) => mb.has(r.image)).map((r) => ({ image: r.image, stem: r.stem, x: r[p.m], y: mb.get(r.image)![p.m] })).filter((q) => isFinite(q.x) && isFinite(q.y));
  const [lo, hi] = range(pts.flatMap((q) => [q.x, q.y]));
  const sx = (v: number) => PAD + ((v - lo) / (hi - lo)) * (PW - 2 * PAD);
  const sy = (v: number) => PH - PAD - ((v - lo) / (hi - lo)) * (PH - 2 * PAD);
  const sel = (which: 0 | 1) => (
    <select value={which ? p.b : p.a} onChange={(e) => {
      const r = +(e.target as HTMLSelectElement).value;
      p.setPair(which ? [p.a, r] : [r, p.b]);
    }}>
      {p.entries.map((e, i) => (
        <option key={e.run} value={e.run}>
          {p.names[i]} (run {e.run})
        </option>
      ))}
    </select>
  );
  const [cmp] = useLoad(() => api<any>(`/compare?a=${p.a}&b=${p.b}&metric=${encodeURIComponent(p.m)}`).catch(() => null), [p.a, p.b, p.m]);
  return (
    <figure class="plot" data-plot="pair">
      <svg width={PW} height={PH}>
        <line x1={sx(lo)} y1={sy(lo)} x2={sx(hi)} y2={sy(hi)} class="grid" />
        {pts.map((q) => (
          <a key={q.image} href={`/compare?image=${q.image}&runs=${p.a},${p.b}`}>
            <circle cx={sx(q.x)} cy={sy(q.y)} r={3.5} class="dot">
              <title>
                {q.stem}: {fmt(q.x)} vs {fmt(q.y)}
              </title>
            </circle>
          </a>
        ))}
        <text x={PW / 2} y={PH - 6} text-anchor="middle">
          run {p.a}
        </text>
        <text x={10} y={PH / 2} transform={`rotate(-90 10 ${PH / 2})`} text-anchor="middle">
          run {p.b}
        </text>
      </svg>
      <figcaption>
        {p.m} per image: {sel(0)} against {sel(1)} (a dot opens both side by side)
        {cmp && cmp.n_pairs !== undefined && (
          <>
            <br />
            {cmp.wins} wins, {cmp.ties} ties, {cmp.losses} losses over {cmp.n_pairs} images{cmp.wilcoxon?.p_value !== undefined && <>; Wilcoxon p = {fmt(cmp.wilcoxon.p_value)}</>}
          </>
        )}
      </figcaption>
    </figure>
  );
}

// A sweep: entries of one workflow that differ in one numeric parameter.
function Sweep({ entries, metric }: { entries: Entry[]; metric: string }) {
  const groups = new Map<string, Entry[]>();
  for (const e of entries) groups.set(e.entry, [...(groups.get(e.entry) || []), e]);
  for (const [wf, es] of groups) {
    if (es.length < 3) continue;
    const keys = Object.keys(es[0].params).filter((k) => new Set(es.map((e) => e.params[k])).size > 1 && es.every((e) => isFinite(parseFloat(e.params[k]))));
    if (!keys.length) continue;
    const k = keys[0];
    const pts = es.map((e) => ({ x: parseFloat(e.params[k]), y: e.mean as number, lo: e.ci95[0], hi: e.ci95[1], run: e.run })).filter((q) => q.y !== null).sort((a, b) => a.x - b.x);
    const [xl, xh] = range(pts.map((q) => q.x));
    const [yl, yh] = range(pts.flatMap((q) => [q.y, q.lo ?? q.y, q.hi ?? q.y]));
    const sx = (v: number) => PAD + ((v - xl) / (xh - xl)) * (PW - 2 * PAD);
    const sy = (v: number) => PH - PAD - ((v - yl) / (yh - yl)) * (PH - 2 * PAD);
    return (
      <figure class="plot" data-plot="sweep">
        <svg width={PW} height={PH}>
          <polyline points={pts.map((q) => `${sx(q.x)},${sy(q.y)}`).join(' ')} class="line" />
          {pts.map((q) => (
            <g key={q.run}>
              {q.lo !== null && q.hi !== null && <line x1={sx(q.x)} x2={sx(q.x)} y1={sy(q.lo)} y2={sy(q.hi)} class="ci" />}
              <circle cx={sx(q.x)} cy={sy(q.y)} r={3.5} class="dot" />
            </g>
          ))}
          {ticks(xl, xh).map((t) => (
            <text key={t} x={sx(t)} y={PH - PAD + 14} text-anchor="middle">
              {fmt(t, 2)}
            </text>
          ))}
        </svg>
        <figcaption>
          Sweep of {wf}: {k} against {metric} (95% CI)
        </figcaption>
      </figure>
    );
  }
  return null;
}
