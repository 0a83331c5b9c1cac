/** Account (#/account): who is signed in, and their API tokens for scripts (create, revoke). */
import { useState, type FormEvent } from 'react';
import { errorMessage, type ApiTokenInfo } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { ErrorMessage, Field, hiddenColumn, Loading, TableHead, useTitle } from '../components.tsx';
import { formatDateTime } from '../format.ts';
import { useApiTokens, useCreateToken, useRevokeToken } from '../queries/account.ts';

export function AccountPage() {
  useTitle('Account');
  const { me } = useAuth();
  const query = useApiTokens();
  const tokens = query.data ?? null;
  const createToken = useCreateToken();
  const revokeToken = useRevokeToken();
  const [actionError, setActionError] = useState<string | null>(null);
  const error = actionError ?? (query.error ? errorMessage(query.error) : null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const busy = createToken.isPending;

  async function create(e: FormEvent) {
    e.preventDefault();
    setActionError(null);
    try {
      const t = await createToken.mutateAsync(name.trim());
      setCreated(t.token);
      setName('');
    } catch (err) {
      setActionError(errorMessage(err));
    }
  }

  async function revoke(id: string) {
    setActionError(null);
    try {
      await revokeToken.mutateAsync(id);
    } catch (err) {
      setActionError(errorMessage(err));
    }
  }

  return (
    <section className="page" data-testid="page-account">
      <div className="page-head">
        <h1 tabIndex={-1}>Account</h1>
        {me && (
          <p className="muted" data-testid="account-who">
            {me.user.email} · {me.user.role === 'super_admin' ? 'super admin' : 'member'} of {me.user.org.name} (
            {me.user.org.plan} plan)
          </p>
        )}
      </div>
      <div className="panel">
        <div className="panel-head">
          <h2>API tokens</h2>
        </div>
        <p className="hint">
          Scripts and the CLI send a token as <code>Authorization: Bearer flt_…</code> (the CLI reads{' '}
          <code>FLOTILLA_TOKEN</code>). A token is shown once; Flotilla keeps only its hash.
        </p>
        <form className="field-row" onSubmit={create}>
          <Field htmlFor="token-name" label="New token name" className="grow">
            <input
              id="token-name"
              value={name}
              maxLength={100}
              required
              onChange={(e) => setName(e.target.value)}
              data-testid="token-name"
            />
          </Field>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()} data-testid="token-create">
            Create token
          </button>
        </form>
        {created && (
          <p className="notice" role="status" data-testid="token-created">
            Copy it now, it will not be shown again: <code className="secret">{created}</code>
          </p>
        )}
        {error && <ErrorMessage testId="token-error">{error}</ErrorMessage>}
        {!tokens && !error && <Loading label="Loading tokens…" />}
        {tokens && tokens.length === 0 && <p className="empty">No tokens yet.</p>}
        {tokens && tokens.length > 0 && <TokenTable tokens={tokens} onRevoke={(id) => void revoke(id)} />}
      </div>
    </section>
  );
}

function TokenTable({ tokens, onRevoke }: { tokens: ApiTokenInfo[]; onRevoke: (id: string) => void }) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="token-table">
        <TableHead columns={['Name', 'Token', 'Created', 'Last used', 'State', hiddenColumn('Actions')]} />
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-testid={`token-row-${t.id}`}>
              <td>{t.name}</td>
              <td>
                <code>{t.prefix}…</code>
              </td>
              <td>{formatDateTime(t.createdAt)}</td>
              <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'never'}</td>
              <td>{t.revokedAt ? `revoked ${formatDateTime(t.revokedAt)}` : 'active'}</td>
              <td>
                {!t.revokedAt && (
                  <button
                    type="button"
                    className="btn btn-small btn-danger-outline"
                    onClick={() => onRevoke(t.id)}
                    data-testid="token-revoke"
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
