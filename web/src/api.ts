// The REST API (docs/api.md) as the pages use it: JSON in and out, the
// session cookie plus its CSRF token on every change, errors as ApiError.
export const API = '/api/v1';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

const CSRF_KEY = 'biaflows.csrf';

export async function api<T = any>(path: string, opts: { method?: string; body?: unknown; form?: FormData; raw?: Blob } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const method = opts.method || (opts.body !== undefined || opts.form || opts.raw ? 'POST' : 'GET');
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (opts.form) {
    body = opts.form;
  } else if (opts.raw) {
    headers['Content-Type'] = 'application/octet-stream';
    body = opts.raw;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const t = localStorage.getItem(CSRF_KEY);
    if (t) headers['X-CSRF-Token'] = t;
  }
  const r = await fetch(API + path, { method, headers, body, credentials: 'same-origin' });
  const text = await r.text();
  let j: any = null;
  try {
    j = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(r.status, 'bad_response', `the server answered ${r.status} with something that is not JSON`);
  }
  if (!r.ok) {
    const e = j && j.error;
    throw new ApiError(r.status, e?.code || 'error', e?.message || `HTTP ${r.status}`);
  }
  return j as T;
}

export interface Session {
  guest: boolean;
  user: string | null;
  role: 'viewer' | 'contributor' | 'admin' | null;
  session?: boolean;
  writable?: string[]; // the problems the caller may upload to and launch on
}

const ROLES = ['viewer', 'contributor', 'admin'];
export function atLeast(s: Session | null, role: 'viewer' | 'contributor' | 'admin'): boolean {
  return !!s && !!s.role && ROLES.indexOf(s.role) >= ROLES.indexOf(role);
}

// may the caller write to this problem (upload, launch, cancel)? The
// server decides (role and membership); this only hides what it would refuse
export function canWrite(s: Session | null, problem: string): boolean {
  return !!s?.writable?.includes(problem);
}

export async function login(name: string, password: string): Promise<Session> {
  const r = await api<{ user: string; role: Session['role']; csrf: string }>('/session', { body: { name, password } });
  localStorage.setItem(CSRF_KEY, r.csrf);
  return api<Session>('/session');
}

export async function logout(): Promise<void> {
  try {
    await api('/session', { method: 'DELETE' });
  } finally {
    localStorage.removeItem(CSRF_KEY);
  }
}

// Every page of a list route (limit 1000 a page).
export async function all<T = any>(path: string): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let offset = 0; ; offset += 1000) {
    const r = await api<{ items: T[]; total: number }>(`${path}${sep}limit=1000&offset=${offset}`);
    out.push(...r.items);
    if (out.length >= r.total || !r.items.length) return out;
  }
}

export interface Problem {
  id: number;
  name: string;
  class: string;
  class_name?: string;
  description: string;
  images: number;
  main_metric: string | null;
  private: boolean;
  best: { run: number; workflow: string; metric: string; mean: number } | null;
}

export interface ImageRec {
  id: number;
  problem: string;
  stem: string;
  original_name: string;
  size_x: number;
  size_y: number;
  size_z: number;
  size_c: number;
  size_t: number;
  dtype: string;
  gt_version: number | null;
}

export interface Layer {
  name: string;
  kind: 'image' | 'gt' | 'run';
  ref: number;
  title: string;
  current: boolean;
  file: string;
  ready: boolean;
  zarr: string | null; // null: a vector layer (a trace's SWC), served as an overlay
  vector?: boolean;
}
