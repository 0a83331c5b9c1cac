/**
 * Who is signed in. The page asks GET /api/auth/me on load; a 401 from any call (an expired
 * session) brings the sign-in form back over the page the operator was on, so nothing they were
 * looking at is lost. The CSRF token from /me goes on every unsafe request (api.ts).
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiError, authApi, errorMessage, onUnauthenticated, setCsrfToken, type Me } from './api.ts';
import { Field } from './components.tsx';

interface AuthState {
  me: Me | null;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthState>({ me: null, signOut: async () => {} });
export const useAuth = () => useContext(AuthContext);

type Phase =
  | { kind: 'loading' }
  | { kind: 'signed-out'; notice?: string }
  | { kind: 'signed-in'; me: Me }
  | { kind: 'error'; message: string };

export function AuthGate({ children }: { children: ReactNode }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const queryClient = useQueryClient();

  // Signed out (or the session ended): nothing read for this user stays for the next one. The
  // pages are unmounted by then, so no query is being watched while the cache empties.
  useEffect(() => {
    if (phase.kind === 'signed-out') queryClient.clear();
  }, [phase, queryClient]);

  const load = useCallback(async () => {
    try {
      const me = await authApi.me();
      setCsrfToken(me.csrfToken ?? null);
      setPhase({ kind: 'signed-in', me });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setPhase({ kind: 'signed-out' });
      else setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, []);

  useEffect(() => {
    void load();
    return onUnauthenticated(() => {
      setCsrfToken(null);
      setPhase({ kind: 'signed-out', notice: 'Your session has ended. Sign in again to go on where you were.' });
    });
  }, [load]);

  const signOut = useCallback(async () => {
    await authApi.signOut().catch(() => {});
    setCsrfToken(null);
    setPhase({ kind: 'signed-out', notice: 'Signed out.' });
  }, []);

  if (phase.kind === 'loading') return <p className="loading container">Loading…</p>;
  if (phase.kind === 'error')
    return (
      <main className="container">
        <p className="text-error" role="alert" data-testid="auth-error">
          Could not reach the Flotilla API: {phase.message}{' '}
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Retry
          </button>
        </p>
      </main>
    );
  if (phase.kind === 'signed-out') return <SignIn notice={phase.notice} onSignedIn={load} />;
  if (!phase.me.access.read) return <NoAccess me={phase.me} signOut={signOut} />;
  return <AuthContext.Provider value={{ me: phase.me, signOut }}>{children}</AuthContext.Provider>;
}

function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await authApi.signIn(email, password);
      await onSignedIn();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <main className="container sign-in" data-testid="page-sign-in">
      <form className="panel sign-in-form" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title" tabIndex={-1}>
          Sign in to Flotilla
        </h1>
        {notice && (
          <p className="hint" role="status" data-testid="sign-in-notice">
            {notice}
          </p>
        )}
        <Field htmlFor="sign-in-email" label="E-mail">
          <input
            id="sign-in-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="sign-in-email"
            autoFocus
          />
        </Field>
        <Field htmlFor="sign-in-password" label="Password">
          <input
            id="sign-in-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="sign-in-password"
          />
        </Field>
        {error && (
          <p className="text-error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="sign-in-submit">
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
        <p className="hint">
          No account yet? The first super admin is created with{' '}
          <code>npm run bootstrap -- --email you@example.com</code> (<code>npm start</code> creates one and prints it).
        </p>
      </form>
    </main>
  );
}

function NoAccess({ me, signOut }: { me: Me; signOut: () => Promise<void> }) {
  return (
    <main className="container" data-testid="page-no-access">
      <h1 tabIndex={-1}>No access to batch operations</h1>
      <p>
        Signed in as <strong>{me.user.email}</strong> ({me.user.org.name}, {me.user.org.plan} plan). {me.access.reason}
      </p>
      <button type="button" className="btn" onClick={() => void signOut()} data-testid="sign-out">
        Sign out
      </button>
    </main>
  );
}
