// Pieces shared by the pages: the session, loading and error states, a
// sortable table.
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { Session } from './api';
import { compareValues, SortDir } from './util';

export const SessionCtx = createContext<{ session: Session | null; refresh: () => Promise<void> }>({ session: null, refresh: async () => {} });
export const useSession = () => useContext(SessionCtx);

export function Err({ msg }: { msg: string }) {
  return <p class="error" role="alert">{msg}</p>;
}
export function Loading() {
  return <p class="muted loading">loading…</p>;
}

// Load something for a page; re-run when deps change.
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): [T | null, string, () => void] {
  const [v, setV] = useState<T | null>(null);
  const [err, setErr] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setErr('');
    fn().then(
      (x) => live && setV(x),
      (e) => live && setErr(e.message || String(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return [v, err, () => setN((k) => k + 1)];
}


export interface Col<T> {
  key: string;
  label: string;
  value?: (r: T) => unknown; // what sorts (default r[key])
  cell?: (r: T) => ComponentChildren; // what shows
  title?: string;
  num?: boolean;
}

// A table sorted by clicking a header (again: the other way).
export function Table<T extends Record<string, any>>(p: { cols: Col<T>[]; rows: T[]; sort?: string; dir?: SortDir; name?: string; rowKey?: (r: T) => string | number }) {
  const [sort, setSort] = useState<{ key: string; dir: SortDir } | null>(p.sort ? { key: p.sort, dir: p.dir || 1 } : null);
  const col = sort && p.cols.find((c) => c.key === sort.key);
  const rows = col ? [...p.rows].sort((a, b) => compareValues(col.value ? col.value(a) : a[col.key], col.value ? col.value(b) : b[col.key], sort!.dir)) : p.rows;
  return (
    <table class="grid" data-table={p.name}>
      <thead>
        <tr>
          {p.cols.map((c) => (
            <th
              key={c.key}
              title={c.title}
              class={`${c.num ? 'num' : ''} ${sort?.key === c.key ? (sort.dir > 0 ? 'asc' : 'desc') : ''}`}
              data-col={c.key}
              onClick={() => setSort(sort?.key === c.key ? { key: c.key, dir: (-sort.dir) as SortDir } : { key: c.key, dir: c.num ? -1 : 1 })}
            >
              {c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={p.rowKey ? p.rowKey(r) : i}>
            {p.cols.map((c) => (
              <td key={c.key} class={c.num ? 'num' : ''} data-col={c.key}>
                {c.cell ? c.cell(r) : String(r[c.key] ?? '—')}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
