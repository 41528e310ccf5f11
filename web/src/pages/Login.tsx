// /login: name and password; the session cookie and its CSRF token.
import { useState } from 'preact/hooks';
import { login } from '../api';
import { useSession } from '../ui';
import { go } from '../util';

export function LoginPage() {
  const { refresh } = useSession();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await login(name, password);
      await refresh();
      const back = new URLSearchParams(location.search).get('next');
      go(back && back.startsWith('/') && !back.startsWith('//') ? back : location.pathname === '/login' ? '/' : location.pathname + location.search);
    } catch (x: any) {
      setError(x.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="login">
      <h1>Log in</h1>
      <form onSubmit={submit} data-login>
        <label>
          Name <input name="name" autocomplete="username" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </section>
  );
}
