// /workflows and /workflows/{name}: what a workflow does, its versions,
// source and parameters, and the launch form (checked as the API checks).
import { useState } from 'preact/hooks';
import { all, api, atLeast, canWrite, ImageRec, Problem } from '../api';
import { Err, Loading, Table, useLoad, useSession } from '../ui';
import { go, when } from '../util';

interface WfRow {
  id: number;
  name: string;
  version: string;
  newest: boolean;
  class: string;
  created_at: string;
  source: string;
}

export function WorkflowsPage() {
  const [rows, err] = useLoad(() => all<WfRow>('/workflows'), []);
  if (err) return <Err msg={err} />;
  if (!rows) return <Loading />;
  return (
    <section>
      <h1>Workflows</h1>
      <Table
        name="workflows"
        rows={rows.filter((r) => r.newest)}
        rowKey={(r) => r.id}
        cols={[
          { key: 'name', label: 'Workflow', cell: (r) => <a href={`/workflows/${encodeURIComponent(r.name)}`}>{r.name}</a> },
          { key: 'class', label: 'Class' },
          { key: 'version', label: 'Newest version' },
          { key: 'versions', label: 'Versions', num: true, value: (r) => rows.filter((x) => x.name === r.name).length, cell: (r) => String(rows.filter((x) => x.name === r.name).length) },
          { key: 'created_at', label: 'Added', cell: (r) => when(r.created_at) },
        ]}
      />
      {!rows.length && <p class="muted">No workflow yet (biaflows workflow add, or POST /api/v1/workflows).</p>}
    </section>
  );
}

export interface Param {
  id: string;
  name: string;
  type: string;
  optional: boolean;
  description: string;
  set_by_server: boolean;
  excluded: boolean;
  default: string | null;
  minimum?: number;
  maximum?: number;
  integer?: boolean;
  choices?: (string | number | boolean)[];
}

// The same checks as the server's (docs/workflows.md "Parameters of a run");
// "" when the value is fine.
export function checkParam(p: Param, v: string): string {
  if (v === '') return p.optional || (p.default !== null && p.default !== '') ? '' : 'required';
  if (p.type === 'Number') {
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v.trim())) return `'${v}' is not a number`;
    const x = parseFloat(v);
    if (p.integer && !/^[-+]?\d+$/.test(v.trim())) return `'${v}' is not an integer`;
    if (p.minimum !== undefined && x < p.minimum) return `below the minimum ${p.minimum}`;
    if (p.maximum !== undefined && x > p.maximum) return `above the maximum ${p.maximum}`;
  }
  if (p.type === 'Boolean' && !/^(true|false|yes|no|1|0)$/i.test(v)) return `'${v}' is not true or false`;
  if (p.type === 'Domain' && !/^[-+]?\d+$/.test(v)) return `'${v}' is not an integer`;
  if (p.choices && p.choices.length && !p.choices.some((c) => (p.type === 'Number' ? parseFloat(String(c)) === parseFloat(v) : String(c) === v))) return `not one of ${p.choices.join(', ')}`;
  return '';
}

export function WorkflowPage({ name }: { name: string }) {
  const { session } = useSession();
  const [d, err] = useLoad(async () => {
    const wf = await api<any>(`/workflows/${encodeURIComponent(name)}`);
    const problems = (await all<Problem>('/problems')).filter((p) => p.class === wf.problem_class);
    return { wf, problems };
  }, [name]);
  if (err) return <Err msg={err} />;
  if (!d) return <Loading />;
  const { wf } = d;
  const params: Param[] = (wf.parameters || []).filter((p: Param) => !p.set_by_server && !p.excluded);
  return (
    <section class="workflow">
      <h1>
        {wf.name} <small class="tag">{wf.problem_class}</small> <small>version {wf.version}</small>
      </h1>
      <p>{wf.description}</p>
      <dl class="facts">
        <dt>Source</dt>
        <dd>
          <code>{wf.source}</code>
        </dd>
        <dt>Environment</dt>
        <dd>
          {wf.environment?.type} {wf.container?.image && <code>{wf.container.image}</code>}
        </dd>
        <dt>Digest</dt>
        <dd>
          <code>{String(wf.digest).slice(0, 16)}…</code>
        </dd>
        <dt>Versions</dt>
        <dd>{(wf.versions || []).map((v: any) => (typeof v === 'string' ? v : v.version)).join(', ') || wf.version}</dd>
      </dl>
      <h2>Parameters</h2>
      <Table
        name="params"
        rows={params as any[]}
        rowKey={(p) => p.id}
        cols={[
          { key: 'id', label: 'Id', cell: (p) => <code>{p.id}</code> },
          { key: 'name', label: 'Name' },
          { key: 'type', label: 'Type', cell: (p) => <>{p.type}{p.integer ? ' (integer)' : ''}</> },
          { key: 'default', label: 'Default', cell: (p) => <code>{p.default ?? ''}</code> },
          { key: 'range', label: 'Allowed', cell: (p) => (p.choices ? p.choices.join(', ') : p.minimum !== undefined || p.maximum !== undefined ? `${p.minimum ?? '−∞'} … ${p.maximum ?? '∞'}` : '') },
          { key: 'description', label: 'Help', cell: (p) => <small>{p.description}</small> },
        ]}
      />
      <h2>Launch</h2>
      {atLeast(session, 'contributor') ? (
        <Launch wf={wf} params={params} problems={d.problems.filter((p) => canWrite(session, p.name))} all={d.problems.length} />
      ) : (
        <p class="muted" data-no-launch>
          Launching needs a contributor account: <a href="/login">log in</a>.
        </p>
      )}
    </section>
  );
}

// problems: those of the workflow's class the caller may launch on (of all,
// the class's count)
function Launch({ wf, params, problems, all: nall }: { wf: any; params: Param[]; problems: Problem[]; all: number }) {
  const want = new URLSearchParams(location.search).get('problem');
  const [problem, setProblem] = useState(problems.find((p) => p.name === want)?.name || problems[0]?.name || '');
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(params.map((p) => [p.id, p.default ?? ''])));
  const [which, setWhich] = useState<'all' | 'some'>('all');
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [images] = useLoad(() => (problem ? all<ImageRec>(`/problems/${encodeURIComponent(problem)}/images`) : Promise.resolve([])), [problem]);
  if (!problems.length)
    return (
      <p class="muted" data-no-problem>
        {nall
          ? `You are not a member of any of the ${nall} ${wf.problem_class} problem${nall > 1 ? 's' : ''}: an admin can add you.`
          : `No problem of class ${wf.problem_class} to run it on.`}
      </p>
    );
  const errs = Object.fromEntries(params.map((p) => [p.id, checkParam(p, values[p.id] ?? '')]));
  const bad = Object.values(errs).some(Boolean) || (which === 'some' && !chosen.length);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (bad) return;
    setBusy(true);
    setError('');
    const body: any = { workflow: `${wf.name}@${wf.version}`, problem, params: {} };
    for (const p of params) if (values[p.id] !== '' && values[p.id] !== (p.default ?? '')) body.params[p.id] = values[p.id];
    if (which === 'some') body.images = chosen;
    try {
      const r = await api<{ id: number }>('/runs', { body });
      go(`/runs/${r.id}`);
    } catch (x: any) {
      setError(x.message);
      setBusy(false);
    }
  };
  return (
    <form class="launch" onSubmit={submit} data-launch>
      <label>
        Problem{' '}
        <select name="problem" value={problem} onChange={(e) => setProblem((e.target as HTMLSelectElement).value)}>
          {problems.map((p) => (
            <option key={p.id}>{p.name}</option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Images</legend>
        <label>
          <input type="radio" name="which" checked={which === 'all'} onChange={() => setWhich('all')} /> every image ({images?.length ?? '…'})
        </label>
        <label>
          <input type="radio" name="which" checked={which === 'some'} onChange={() => setWhich('some')} /> these:
        </label>
        {which === 'some' && (
          <select multiple name="images" size={Math.min(8, images?.length || 1)} onChange={(e) => setChosen(Array.from((e.target as HTMLSelectElement).selectedOptions).map((o) => o.value))}>
            {(images || []).map((im) => (
              <option key={im.id} value={im.stem}>
                {im.stem}
              </option>
            ))}
          </select>
        )}
      </fieldset>
      <fieldset>
        <legend>Parameters</legend>
        {params.map((p) => (
          <div class="param" key={p.id}>
            <label title={p.description}>
              <span>{p.name}</span>{' '}
              {p.choices ? (
                <select name={p.id} value={values[p.id]} onChange={(e) => setValues({ ...values, [p.id]: (e.target as HTMLSelectElement).value })}>
                  {p.choices.map((c) => (
                    <option key={String(c)}>{String(c)}</option>
                  ))}
                </select>
              ) : p.type === 'Boolean' ? (
                <input type="checkbox" name={p.id} checked={/^(true|yes|1)$/i.test(values[p.id])} onChange={(e) => setValues({ ...values, [p.id]: (e.target as HTMLInputElement).checked ? 'true' : 'false' })} />
              ) : (
                <input type={p.type === 'Number' ? 'text' : 'text'} inputMode={p.type === 'Number' ? 'decimal' : undefined} name={p.id} value={values[p.id]} onInput={(e) => setValues({ ...values, [p.id]: (e.target as HTMLInputElement).value })} aria-invalid={!!errs[p.id]} />
              )}
            </label>
            {errs[p.id] && <small class="error" data-param-error={p.id}>{errs[p.id]}</small>}
            <small class="muted"> {p.description}</small>
          </div>
        ))}
      </fieldset>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" name="launch" disabled={busy || bad}>
        {busy ? 'queuing…' : 'Launch'}
      </button>
    </form>
  );
}
