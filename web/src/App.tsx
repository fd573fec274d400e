/** The shell: navigation (side bar on desktop, tab bar on phones), connection state, toasts, pages. */
import { lazy, Suspense, useEffect } from 'react';
import { displayName, Loading } from './components/common';
import { parseRoute, navigate, useHash, type Route } from './lib/router';
import { dismissToast, logout, setLang, setTheme } from './state/actions';
import { useT } from './state/hooks';
import { useStore } from './state/store';
import { LoginPage } from './pages/Login';
import { HomePage } from './pages/Home';
import { MarketsPage } from './pages/Markets';
import { OrdersPage } from './pages/Orders';
import { ProfilePage } from './pages/Profile';
import { OrderDetailPage } from './pages/OrderDetail';
import { RankingsPage } from './pages/Rankings';

// The chart library is only needed on the instrument page: keep it out of the first load.
const InstrumentPage = lazy(() => import('./pages/Instrument'));

const ICONS: Record<string, string> = {
  home: 'M3 10.5 12 3l9 7.5V20a1 1 0 0 1-1 1h-5v-6h-6v6H4a1 1 0 0 1-1-1z',
  markets: 'M4 19V9m5 10V5m5 14v-7m5 7V8',
  orders: 'M7 4h10a1 1 0 0 1 1 1v15l-3-2-3 2-3-2-3 2V5a1 1 0 0 1 1-1zm2 5h6m-6 4h6',
  rankings: 'M8 21h8m-4-4v4M7 4h10v5a5 5 0 0 1-10 0zM7 6H4v1a3 3 0 0 0 3 3m10-4h3v1a3 3 0 0 1-3 3',
};

function Icon({ name }: { name: string }) {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden>
      <path d={ICONS[name]} />
    </svg>
  );
}

const TABS = ['home', 'markets', 'orders', 'rankings'] as const;

function ConnectionDot() {
  const t = useT();
  const ws = useStore((s) => s.ws);
  const home = useStore((s) => s.home);
  const failures = useStore((s) => s.wsFailures);
  const state = home === 'offline' ? 'offline' : ws === 'open' ? 'live' : failures > 0 ? 'reconnecting' : 'connecting';
  const label = state === 'offline' ? t('conn.offlineShort') : state === 'live' ? t('conn.live') : t(state === 'reconnecting' ? 'conn.reconnecting' : 'conn.connecting');
  return (
    <span className={`conn conn-${state}`} data-testid="conn" data-state={state} title={label}>
      <span className="dot" />
      <span className="conn-label">{label}</span>
    </span>
  );
}

function Settings() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const theme = useStore((s) => s.theme);
  return (
    <div className="settings">
      <button className="ghost small" onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')} data-testid="lang">
        {t('nav.language')}
      </button>
      <button className="ghost small icon-btn" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title={t(theme === 'dark' ? 'nav.theme.light' : 'nav.theme.dark')} aria-label={t(theme === 'dark' ? 'nav.theme.light' : 'nav.theme.dark')}>
        {theme === 'dark' ? '☀' : '☾'}
      </button>
    </div>
  );
}

function Nav({ route }: { route: Route }) {
  const t = useT();
  const me = useStore((s) => s.me);
  const active =
    route.page === 'instrument' ? 'markets' : route.page === 'user' ? 'rankings' : route.page === 'order' ? 'orders' : route.page;
  return (
    <>
      <aside className="sidebar" aria-label={t('nav.sidebar')}>
        <a className="brand" href="#/">
          <span className="logo" aria-hidden>
            <svg viewBox="0 0 32 32" width="28" height="28"><rect width="32" height="32" rx="8" fill="var(--accent)" /><path d="M7 21l6-6 4 4 8-9" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" /></svg>
          </span>
          {t('app.name')}
        </a>
        <nav aria-label={t('nav.main')}>
          {TABS.map((tab) => (
            <a key={tab} href={tab === 'home' ? '#/' : `#/${tab}`} className={active === tab ? 'active' : ''} aria-current={active === tab ? 'page' : undefined} data-testid={`nav-${tab}`}>
              <Icon name={tab} />
              {t(`nav.${tab}`)}
            </a>
          ))}
        </nav>
        <div className="sidebar-foot">
          <ConnectionDot />
          {me && <div className="me">{me.nickname}<span>@{me.username}</span></div>}
          <Settings />
          <button className="ghost small" onClick={logout}>{t('nav.logout')}</button>
        </div>
      </aside>
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="logo" aria-hidden>
            <svg viewBox="0 0 32 32" width="24" height="24"><rect width="32" height="32" rx="8" fill="var(--accent)" /><path d="M7 21l6-6 4 4 8-9" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" /></svg>
          </span>
          {t('app.name')}
        </a>
        <ConnectionDot />
        <Settings />
        <button className="ghost small" onClick={logout}>{t('nav.logout')}</button>
      </header>
      <nav className="tabbar" aria-label={t('nav.main')}>
        {TABS.map((tab) => (
          <a key={tab} href={tab === 'home' ? '#/' : `#/${tab}`} className={active === tab ? 'active' : ''} aria-current={active === tab ? 'page' : undefined}>
            <Icon name={tab} />
            <span>{t(`nav.${tab}`)}</span>
          </a>
        ))}
      </nav>
    </>
  );
}

function OfflineBanner() {
  const t = useT();
  const home = useStore((s) => s.home);
  const mode = useStore((s) => s.offlineMode);
  if (home !== 'offline') return null;
  return (
    <div className="banner offline" role="alert" data-testid="offline-banner" data-mode={mode}>
      <strong aria-hidden>⚠</strong> {t(mode === 'edge' ? 'conn.offlineEdge' : 'conn.offlineSingle')}
    </div>
  );
}

/** Each page has its own document title: "마켓 · 페이퍼트레이드". */
function usePageTitle(route: Route): void {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inst = useStore((s) => (route.page === 'instrument' ? s.instrumentsById[route.tickerId] : undefined));
  let page: string;
  switch (route.page) {
    case 'instrument':
      page = displayName(inst, route.tickerId, lang);
      break;
    case 'login':
      page = t(route.mode === 'signup' ? 'auth.signup' : 'auth.login');
      break;
    case 'user':
      page = t('profile.title');
      break;
    case 'order':
      page = t('detail.title');
      break;
    default:
      page = t(`nav.${route.page}`);
  }
  const title = `${page} · ${t('app.name')}`;
  useEffect(() => {
    document.title = title;
  }, [title]);
}

function Toasts() {
  const t = useT();
  const toasts = useStore((s) => s.toasts);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((x) => (
        <div key={x.id} className={`toast ${x.kind}`} data-testid="toast" role={x.kind === 'error' ? 'alert' : 'status'}>
          <span>{x.text}</span>
          <button className="ghost small" onClick={() => dismissToast(x.id)} aria-label={t('toast.dismiss')}>✕</button>
        </div>
      ))}
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'markets':
      return <MarketsPage />;
    case 'instrument':
      return (
        <Suspense fallback={<Loading />}>
          <InstrumentPage tickerId={route.tickerId} />
        </Suspense>
      );
    case 'orders':
      return <OrdersPage />;
    case 'order':
      return <OrderDetailPage key={route.id} id={route.id} />;
    case 'rankings':
      return <RankingsPage />;
    case 'user':
      return <ProfilePage key={route.userId} userId={route.userId} />;
    default:
      return <HomePage />;
  }
}

export function App() {
  const hash = useHash();
  const route = parseRoute(hash);
  const token = useStore((s) => s.token);
  const lang = useStore((s) => s.lang);
  const shown: Route = !token ? { page: 'login', mode: route.page === 'login' ? route.mode : 'login' } : route;
  usePageTitle(shown);

  useEffect(() => {
    if (!token && route.page !== 'login') navigate({ page: 'login', mode: 'login' }, true);
    if (token && route.page === 'login') navigate({ page: 'home' }, true);
  }, [token, route.page]);

  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  if (!token || route.page === 'login') {
    return (
      <>
        <LoginPage mode={route.page === 'login' ? route.mode : 'login'} />
        <Toasts />
      </>
    );
  }
  return (
    <div className="shell">
      <Nav route={route} />
      <main className="content">
        <OfflineBanner />
        <Page route={route} />
      </main>
      <Toasts />
    </div>
  );
}
