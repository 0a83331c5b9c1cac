import { useEffect, useRef } from 'react';
import { HealthIndicator, useTitle } from './components.tsx';
import { BatchPage } from './pages/batch/BatchPage.tsx';
import { BatchesPage } from './pages/batches/BatchesPage.tsx';
import { OperationsPage } from './pages/OperationsPage.tsx';
import { SchedulesPage } from './pages/schedules/SchedulesPage.tsx';
import { CreativeTemplatesPage } from './pages/creative-templates/CreativeTemplatesPage.tsx';
import { AccountPage } from './pages/AccountPage.tsx';
import { AuthGate, useAuth } from './auth.tsx';
import { hrefTo, useRoute, type Route } from './router.ts';

export function App() {
  return (
    <AuthGate>
      <Shell />
    </AuthGate>
  );
}

/** Who is signed in, their account page, and sign-out. */
function UserMenu({ active }: { active: boolean }) {
  const { me, signOut } = useAuth();
  if (!me) return null;
  return (
    <div className="user-menu">
      <a
        href={hrefTo.account()}
        aria-current={active ? 'page' : undefined}
        data-testid="nav-account"
        title={`${me.user.email} · ${me.user.org.name}`}
      >
        {me.user.email}
      </a>
      <button type="button" className="btn btn-small btn-ghost" onClick={() => void signOut()} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}

function Shell() {
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  const routeKey = route.page === 'batch' ? `batch:${route.id}` : route.page;

  // After a navigation, move focus to the new page's heading so keyboard and screen reader users land there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const h1 = mainRef.current?.querySelector<HTMLElement>('h1');
    h1?.focus({ preventScroll: true });
  }, [routeKey]);

  return (
    <>
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => (e.preventDefault(), mainRef.current?.querySelector<HTMLElement>('h1')?.focus())}
      >
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <a className="brand" href={hrefTo.operations()} data-testid="nav-home">
            <svg className="brand-mark" viewBox="0 0 16 16" width="20" height="20" aria-hidden="true">
              <path d="M2 11h12l-2 3H4z" fill="currentColor" />
              <path d="M8 2v8H3z" fill="var(--accent)" />
              <path d="M9 4v6h4z" fill="var(--seg-running)" />
            </svg>
            Flotilla
          </a>
          <nav className="nav" aria-label="Main">
            <a
              href={hrefTo.operations()}
              aria-current={route.page === 'operations' ? 'page' : undefined}
              data-testid="nav-operations"
            >
              Operations
            </a>
            <a
              href={hrefTo.batches()}
              aria-current={route.page === 'batches' || route.page === 'batch' ? 'page' : undefined}
              data-testid="nav-batches"
            >
              Batches
            </a>
            <a
              href={hrefTo.schedules()}
              aria-current={route.page === 'schedules' ? 'page' : undefined}
              data-testid="nav-schedules"
            >
              Schedules
            </a>
            <a
              href={hrefTo.creativeTemplates()}
              aria-current={route.page === 'creative-templates' ? 'page' : undefined}
              data-testid="nav-creative-templates"
            >
              Creative templates
            </a>
          </nav>
          <HealthIndicator />
          <UserMenu active={route.page === 'account'} />
        </div>
      </header>
      <main id="main" ref={mainRef} className="container">
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'operations':
      return <OperationsPage />;
    case 'batches':
      return <BatchesPage tab={route.tab} filters={route.filters} />;
    case 'schedules':
      return <SchedulesPage />;
    case 'creative-templates':
      return <CreativeTemplatesPage />;
    case 'account':
      return <AccountPage />;
    case 'batch':
      return <BatchPage key={route.id} id={route.id} />;
    case 'not-found':
      return <NotFound path={route.path} />;
  }
}

function NotFound({ path }: { path: string }) {
  useTitle('Not found');
  return (
    <section className="page" data-testid="page-not-found">
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>. Go to <a href={hrefTo.operations()}>Operations</a> or{' '}
        <a href={hrefTo.batches()}>Batches</a>.
      </p>
    </section>
  );
}
