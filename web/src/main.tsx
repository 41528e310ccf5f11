// The app: one page per URL (docs/web.md), rendered with Preact; the server
// answers every page URL with this app.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, Session, logout } from './api';
import { SessionCtx, Err, Loading } from './ui';
import { go, onLink } from './util';
import { ProblemsPage, ProblemPage } from './pages/Problems';
import { BenchmarkPage } from './pages/Benchmark';
import { Lazy } from './lazy';
import { WorkflowsPage, WorkflowPage } from './pages/Workflows';
import { RunPage, RunsPage } from './pages/Runs';
import { LoginPage } from './pages/Login';
import './style.css';

function route(path: string) {
  const seg = path.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
  if (!seg.length || seg[0] === '' || (seg[0] === 'problems' && seg.length === 1)) return <ProblemsPage />;
  if (seg[0] === 'problems' && seg.length === 2) return <ProblemPage name={seg[1]} />;
  if (seg[0] === 'problems' && seg.length === 3 && seg[2] === 'benchmark') return <BenchmarkPage name={seg[1]} />;
  if (seg[0] === 'images' && seg.length === 2 && /^\d+$/.test(seg[1])) return <Lazy page="ImagePage" props={{ id: +seg[1] }} key={seg[1]} />;
  if (seg[0] === 'compare' && seg.length === 1) return <Lazy page="ComparePage" props={{}} />;
  if (seg[0] === 'workflows' && seg.length === 1) return <WorkflowsPage />;
  if (seg[0] === 'workflows' && seg.length === 2) return <WorkflowPage name={seg[1]} />;
  if (seg[0] === 'runs' && seg.length === 1) return <RunsPage />;
  if (seg[0] === 'runs' && seg.length === 2 && /^\d+$/.test(seg[1])) return <RunPage id={+seg[1]} key={seg[1]} />;
  if (seg[0] === 'login' && seg.length === 1) return <LoginPage />;
  return <Err msg={`page not found: ${path}`} />;
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const [session, setSession] = useState<Session | null>(null);
  const refresh = async () => {
    try {
      setSession(await api<Session>('/session'));
    } catch {
      setSession({ guest: false, user: null, role: null });
    }
  };
  useEffect(() => {
    refresh();
    const h = () => setPath(location.pathname);
    addEventListener('popstate', h);
    return () => removeEventListener('popstate', h);
  }, []);
  useEffect(() => {
    document.title = `BIAFLOWS — ${path === '/' ? 'problems' : path.slice(1)}`;
  }, [path]);
  const needLogin = session && !session.user && !session.guest && path !== '/login';
  return (
    <SessionCtx.Provider value={{ session, refresh }}>
      <div onClick={onLink as any}>
        <header class="top">
          <a href="/" class="brand">
            BIAFLOWS
          </a>
          <nav>
            <a href="/problems" class={path === '/' || path.startsWith('/problems') ? 'on' : ''}>
              Problems
            </a>
            <a href="/workflows" class={path.startsWith('/workflows') ? 'on' : ''}>
              Workflows
            </a>
            <a href="/runs" class={path.startsWith('/runs') ? 'on' : ''}>
              Runs
            </a>
          </nav>
          <div class="who">
            {session?.user ? (
              <>
                <span class="user" data-role={session.role}>
                  {session.user} <small>({session.role})</small>
                </span>{' '}
                {session.session && (
                  <button
                    type="button"
                    class="small"
                    name="logout"
                    onClick={async () => {
                      await logout().catch(() => {});
                      await refresh();
                      go('/');
                    }}
                  >
                    log out
                  </button>
                )}
              </>
            ) : (
              <>
                {session?.guest && <span class="muted">guest (read only)</span>}{' '}
                <a href="/login" class="button small">
                  log in
                </a>
              </>
            )}
          </div>
        </header>
        <main key={path}>{session === null ? <Loading /> : needLogin ? <LoginPage /> : route(path)}</main>
      </div>
    </SessionCtx.Provider>
  );
}

render(<App />, document.getElementById('app')!);
