// /problems: every problem with its class, images and best workflow.
// /problems/{name}: description, gallery, workflows, runs, leaderboard,
// uploads for contributors.
import { useState } from 'preact/hooks';
import { all, api, canWrite, ImageRec, Problem } from '../api';
import { Err, Loading, Table, useLoad, useSession } from '../ui';
import { fmt } from '../util';
import { Leaderboard } from './Benchmark';
import { RunRow, RunTable } from './Runs';

export function ProblemsPage() {
  const [rows, err] = useLoad(() => all<Problem>('/problems'), []);
  if (err) return <Err msg={err} />;
  if (!rows) return <Loading />;
  return (
    <section>
      <h1>Problems</h1>
      <p class="muted">Annotated datasets of the nine BIAFLOWS problem classes. Pick one to browse its images, run workflows on it and read its benchmark.</p>
      <Table
        name="problems"
        rows={rows}
        rowKey={(r) => r.id}
        cols={[
          { key: 'name', label: 'Problem', cell: (r) => <a href={`/problems/${encodeURIComponent(r.name)}`}>{r.name}</a> },
          { key: 'class', label: 'Class' },
          { key: 'images', label: 'Images', num: true },
          { key: 'best', label: 'Best workflow', value: (r) => r.best?.workflow, cell: (r) => (r.best ? <a href={`/runs/${r.best.run}`}>{r.best.workflow}</a> : <span class="muted">no run yet</span>) },
          { key: 'score', label: 'Main metric', num: true, value: (r) => r.best?.mean, cell: (r) => (r.best ? <span title={`run ${r.best.run}`}>{r.best.metric} {fmt(r.best.mean)}</span> : '—') },
          { key: 'description', label: 'Description', cell: (r) => <small>{r.description}</small> },
        ]}
      />
      {!rows.length && <p class="muted">No problem yet (biaflows problem add, or POST /api/v1/problems).</p>}
    </section>
  );
}

interface Wf {
  name: string;
  version: string;
  class: string;
  newest: boolean;
}

export function ProblemPage({ name }: { name: string }) {
  const { session } = useSession();
  const [d, err, reload] = useLoad(async () => {
    const e = encodeURIComponent(name);
    const [problem, images, runs, wfs] = await Promise.all([
      api<Problem>(`/problems/${e}`),
      api<{ items: ImageRec[]; total: number }>(`/problems/${e}/images?limit=1000`),
      all<RunRow>(`/runs?problem=${e}`),
      all<Wf>('/workflows'),
    ]);
    return { problem, images, runs, wfs };
  }, [name]);
  const [more, setMore] = useState(48);
  if (err) return <Err msg={err} />;
  if (!d) return <Loading />;
  const { problem, images, runs } = d;
  const wfs = d.wfs.filter((w) => w.class === problem.class && w.newest);
  return (
    <section class="problem">
      <h1>
        {problem.name} <small class="tag">{problem.class}</small> {problem.private && <small class="tag">private</small>}
      </h1>
      <p>{problem.description || <span class="muted">(no description)</span>}</p>
      <p class="muted">
        {problem.class_name} · {problem.images} images · <a href={`/problems/${encodeURIComponent(name)}/benchmark`}>benchmark →</a>
      </p>
      <h2>Images</h2>
      <div class="gallery" data-gallery>
        {images.items.slice(0, more).map((im) => (
          <Thumb key={im.id} im={im} />
        ))}
      </div>
      {images.items.length > more && (
        <button type="button" onClick={() => setMore(more + 96)}>
          more ({images.total - more} left)
        </button>
      )}
      {!images.items.length && <p class="muted">no image yet</p>}
      {canWrite(session, problem.name) && <Upload problem={problem.name} images={images.items} onDone={reload} />}
      <h2>Workflows for {problem.class}</h2>
      {wfs.length ? (
        <ul class="wf-list">
          {wfs.map((w) => (
            <li key={w.name}>
              <a href={`/workflows/${encodeURIComponent(w.name)}?problem=${encodeURIComponent(problem.name)}`}>{w.name}</a> <small>version {w.version}</small>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">no workflow of this class yet</p>
      )}
      <h2>Leaderboard</h2>
      <Leaderboard problem={problem.name} compact />
      <h2>Runs</h2>
      <RunTable rows={runs} />
    </section>
  );
}

function Thumb({ im }: { im: ImageRec }) {
  const [hover, setHover] = useState(false);
  // a new image's pyramid may still be being built (503): try again
  const [attempt, setAttempt] = useState(0);
  const retry = () => attempt < 20 && setTimeout(() => setAttempt((a) => a + 1), 1000);
  const src = `/iiif/3/${im.id}/full/!160,160/0/default.jpg`;
  return (
    <a class="thumb" href={`/images/${im.id}${im.gt_version ? '?layers=gt' : ''}`} title={`${im.stem} — ${im.size_x}×${im.size_y}×${im.size_z}, ${im.size_c} C, ${im.size_t} T, ${im.dtype}`} onMouseEnter={() => setHover(true)} onMouseLeave={() => setHover(false)}>
      <img key={attempt} loading="lazy" src={hover && im.gt_version ? `${src}?labels=gt` : src} alt={im.stem} width={160} height={160} onError={retry} />
      <span>{im.stem}</span>
    </a>
  );
}

// Contributors add images, and GT to an image, from the problem page.
function Upload({ problem, images, onDone }: { problem: string; images: ImageRec[]; onDone: () => void }) {
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  const [target, setTarget] = useState<number>(images[0]?.id || 0);
  const send = async (files: FileList | null, gt: boolean) => {
    if (!files || !files.length) return;
    setBusy(true);
    setMsg('');
    const done: string[] = [];
    try {
      for (const f of Array.from(files)) {
        const path = gt ? `/images/${target}/gt?name=${encodeURIComponent(f.name)}` : `/problems/${encodeURIComponent(problem)}/images?name=${encodeURIComponent(f.name)}`;
        await api(path, { raw: f });
        done.push(f.name);
      }
      setMsg(`added ${done.join(', ')}`);
      onDone();
    } catch (e: any) {
      setMsg(`${done.length ? `added ${done.join(', ')}; ` : ''}refused: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="upload" data-upload>
      <h3>Add data</h3>
      <label>
        Images (TIFF, PNG, JPEG): <input type="file" name="images" multiple disabled={busy} onChange={(e) => send((e.target as HTMLInputElement).files, false)} />
      </label>
      {images.length > 0 && (
        <label>
          Ground truth for{' '}
          <select value={target} onChange={(e) => setTarget(+(e.target as HTMLSelectElement).value)}>
            {images.map((im) => (
              <option key={im.id} value={im.id}>
                {im.stem}
              </option>
            ))}
          </select>
          : <input type="file" name="gt" disabled={busy} onChange={(e) => send((e.target as HTMLInputElement).files, true)} />
        </label>
      )}
      {msg && <p class={msg.includes('refused') ? 'error' : 'ok'}>{msg}</p>}
    </div>
  );
}
