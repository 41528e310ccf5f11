// /runs: every run; /runs/{id}: live state and log (server-sent events),
// parameters, environment, reproducibility, outputs, per-image metrics.
import { useEffect, useRef, useState } from 'preact/hooks';
import { all, api, API, canWrite } from '../api';
import { Err, Loading, Table, useLoad, useSession } from '../ui';
import { fmt, go, when } from '../util';

export interface RunRow {
  id: number;
  workflow: string;
  problem: string;
  status: string;
  created_at: string;
  duration: number | null;
  main_metric: string;
  mean: number | null;
}

export function RunsPage() {
  const [rows, err] = useLoad(() => all<RunRow>('/runs'), []);
  const [status, setStatus] = useState('');
  if (err) return <Err msg={err} />;
  if (!rows) return <Loading />;
  const states = [...new Set(rows.map((r) => r.status))].sort();
  return (
    <section>
      <h1>
        Runs{' '}
        <select name="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">every state</option>
          {states.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </h1>
      <RunTable rows={rows.filter((r) => !status || r.status === status)} withProblem />
    </section>
  );
}

// Runs, newest first: the run list and a problem's runs.
export function RunTable({ rows, withProblem }: { rows: RunRow[]; withProblem?: boolean }) {
  return (
    <Table
      name="runs"
      rows={rows}
      rowKey={(r) => r.id}
      sort="id"
      dir={-1}
      cols={[
        { key: 'id', label: 'Run', num: true, cell: (r) => <a href={`/runs/${r.id}`}>{r.id}</a> },
        { key: 'workflow', label: 'Workflow' },
        ...(withProblem ? [{ key: 'problem', label: 'Problem', cell: (r: RunRow) => <a href={`/problems/${encodeURIComponent(r.problem)}`}>{r.problem}</a> }] : []),
        { key: 'status', label: 'Status', cell: (r) => <span class={`state st-${r.status}`}>{r.status}</span> },
        { key: 'created_at', label: 'Created', cell: (r) => when(r.created_at) },
        { key: 'duration', label: 'Seconds', num: true },
        { key: 'mean', label: 'Main metric', num: true, cell: (r) => (r.mean === null ? '—' : `${r.main_metric} ${fmt(r.mean)}`) },
      ]}
    />
  );
}

const ENDED = ['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted'];

export function RunPage({ id }: { id: number }) {
  const { session } = useSession();
  const [run, err, reload] = useLoad(() => api<any>(`/runs/${id}`), [id]);
  const [state, setState] = useState<string>('');
  const [log, setLog] = useState<string[]>([]);
  const [msg, setMsg] = useState('');
  const logBox = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const es = new EventSource(`${API}/runs/${id}/events`);
    const lines: string[] = [];
    let pending = 0 as any;
    es.addEventListener('state', (e: MessageEvent) => setState(JSON.parse(e.data).state));
    es.addEventListener('log', (e: MessageEvent) => {
      lines.push(JSON.parse(e.data).line);
      if (!pending)
        pending = setTimeout(() => {
          pending = 0;
          setLog(lines.slice(-2000));
        }, 100);
    });
    es.addEventListener('end', (e: MessageEvent) => {
      setState(JSON.parse(e.data).state);
      setLog(lines.slice(-2000));
      es.close();
      reload();
    });
    return () => {
      es.close();
      clearTimeout(pending);
    };
  }, [id]);
  useEffect(() => {
    const b = logBox.current;
    if (b) b.scrollTop = b.scrollHeight;
  }, [log]);
  if (err) return <Err msg={err} />;
  if (!run) return <Loading />;
  const st = state || run.status;
  const live = !ENDED.includes(st);
  const act = async (what: 'cancel' | 'rerun') => {
    try {
      const r = await api<any>(`/runs/${id}/${what}`, { method: 'POST', body: {} });
      if (what === 'rerun') go(`/runs/${r.id}`);
      else setMsg('cancel requested');
    } catch (e: any) {
      setMsg(e.message);
    }
  };
  const images: any[] = run.images || [];
  const metricNames: string[] = [];
  for (const im of images) for (const k of Object.keys(im.metrics || {})) if (!metricNames.includes(k)) metricNames.push(k);
  metricNames.sort((a, b) => (a === run.main_metric ? -1 : b === run.main_metric ? 1 : 0));
  return (
    <section class="run">
      <h1>
        Run {run.id} <span class={`state st-${st}`} data-state={st}>{st}</span>
      </h1>
      <p>
        <a href={`/workflows/${encodeURIComponent(run.workflow)}`}>
          {run.workflow}@{run.version}
        </a>{' '}
        on <a href={`/problems/${encodeURIComponent(run.problem)}`}>{run.problem}</a> ({run.class}) · {run.reason}
      </p>
      {canWrite(session, run.problem) && (
        <p>
          {live && (
            <button type="button" class="small" onClick={() => act('cancel')}>
              cancel
            </button>
          )}
          {!live && (
            <button type="button" class="small" onClick={() => act('rerun')}>
              rerun (check reproducibility)
            </button>
          )}{' '}
          {msg}
        </p>
      )}
      <dl class="facts">
        <dt>Created</dt>
        <dd>{when(run.created_at)}</dd>
        <dt>Started / finished</dt>
        <dd>
          {when(run.started_at)} / {when(run.finished_at)} ({run.duration ?? '—'} s)
        </dd>
        <dt>Main metric</dt>
        <dd>
          {run.main_metric} {fmt(run.main_metric_mean)}
        </dd>
        <dt>Parameters</dt>
        <dd>
          {Object.entries(run.params || {}).map(([k, v]) => (
            <code key={k}>
              {k}={String(v)}{' '}
            </code>
          ))}
        </dd>
        <dt>Environment</dt>
        <dd>
          <code>{run.env_digest}</code> · executor {run.executor} on {run.host}
        </dd>
        <dt>Dataset</dt>
        <dd>
          <code>{String(run.dataset_digest || '').slice(0, 16)}</code> · metrics {run.metrics_version}
        </dd>
        <dt>Reproducibility</dt>
        <dd data-repro>
          {run.rerun_of ? (
            <>
              rerun of <a href={`/runs/${run.rerun_of}`}>run {run.rerun_of}</a>: <b>{run.reproduction || 'pending'}</b> {run.reproduction_detail && <small>{typeof run.reproduction_detail === 'string' ? run.reproduction_detail : JSON.stringify(run.reproduction_detail)}</small>}
            </>
          ) : (
            <span class="muted">not rerun yet</span>
          )}
        </dd>
      </dl>
      <h2>Log</h2>
      <pre class="log" ref={logBox} data-log>
        {log.join('\n') || (live ? 'waiting for output…' : '')}
      </pre>
      <h2>Images</h2>
      <Table
        name="run-images"
        rows={images}
        rowKey={(r) => r.id}
        cols={[
          { key: 'stem', label: 'Image', cell: (r) => <a href={`/images/${r.id}?layers=gt,run:${run.id}&errors=${run.id}`}>{r.stem}</a> },
          { key: 'status', label: 'Status' },
          ...metricNames.map((m) => ({ key: m, label: m, num: true, value: (r: any) => r.metrics?.[m], cell: (r: any) => fmt(r.metrics?.[m]) })),
          { key: 'outputs', label: 'Outputs', cell: (r) => (r.outputs || []).map((o: any) => <a key={o.name} href={`${API}/runs/${run.id}/outputs/${encodeURIComponent(r.stem)}`} download>{o.name} </a>) },
          { key: 'reason', label: 'Note', cell: (r) => <small>{r.reason}</small> },
        ]}
      />
    </section>
  );
}
