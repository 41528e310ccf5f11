// Small helpers shared by the pages.
export function fmt(x: unknown, digits = 3): string {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'number') {
    if (!isFinite(x)) return String(x);
    if (Number.isInteger(x)) return String(x);
    const a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(2) : x.toFixed(digits);
  }
  return String(x);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace('Z', '');
}

export function go(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

// Links that navigate inside the app without a reload.
export function onLink(e: MouseEvent): void {
  const a = (e.target as HTMLElement).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('/api/') || href.startsWith('/zarr/') || href.startsWith('/iiif/')) return;
  e.preventDefault();
  go(href);
}

export type SortDir = 1 | -1;
// Numbers before text, NaN and missing last whatever the direction.
export function compareValues(a: unknown, b: unknown, dir: SortDir): number {
  const na = a === null || a === undefined || (typeof a === 'number' && isNaN(a));
  const nb = b === null || b === undefined || (typeof b === 'number' && isNaN(b));
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return (a - b) * dir;
  return String(a).localeCompare(String(b), undefined, { numeric: true }) * dir;
}

export function csvOf(cols: string[], rows: Record<string, unknown>[]): string {
  const q = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.map(q).join(','), ...rows.map((r) => cols.map((c) => q(r[c])).join(','))].join('\n') + '\n';
}

export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Colours of error categories (the same on every page and in the viewer).
export const STATUS_COLORS: Record<string, [number, number, number]> = {
  TP: [46, 204, 64],
  FP: [255, 65, 54],
  FN: [0, 116, 217],
  split: [177, 13, 201],
  merged: [255, 133, 27],
  paired: [46, 204, 64],
  matched: [46, 204, 64],
  spurious: [255, 65, 54],
  missed: [0, 116, 217],
  located: [46, 204, 64],
  switched: [255, 220, 0],
  'missed link': [0, 200, 255],
  'spurious link': [255, 133, 27],
  'switched link': [255, 105, 180],
};
export function statusColor(s: string | null | undefined): [number, number, number] {
  return (s && STATUS_COLORS[s]) || [255, 255, 255];
}
