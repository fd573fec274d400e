/** Log in or sign up. Client-side checks mirror the server's rules; the server's words win. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../lib/api';
import { setLang } from '../state/actions';
import { login, signup } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

const USERNAME_RE = /^[a-z0-9_]{3,32}$/;

export function LoginPage({ mode }: { mode: 'login' | 'signup' }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const notice = useStore((s) => s.notice);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const [invite, setInvite] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const isSignup = mode === 'signup';

  function check(): string | null {
    if (!isSignup) return null;
    if (!USERNAME_RE.test(username)) return t('auth.badUsername');
    if (password.length < 8) return t('auth.badPassword');
    const n = nickname.trim();
    if (n.length < 1 || [...n].length > 32) return t('auth.badNickname');
    return null;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = check();
    setError(problem);
    if (problem) return;
    setBusy(true);
    try {
      if (isSignup) await signup(username, password, nickname.trim(), invite.trim() || undefined);
      else await login(username.trim(), password);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status === 401) setError(t('auth.wrong'));
        else if (err.status === 409) setError(t('auth.taken'));
        else if (err.status === 429) setError(t('auth.tooMany'));
        else if (err.status === 0 || err.unreachable) setError(t('ticket.network'));
        else setError(err.detail);
      } else setError(String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auth">
      <div className="auth-hero">
        <div className="auth-logo" aria-hidden>
          <svg viewBox="0 0 32 32" width="56" height="56"><rect width="32" height="32" rx="8" fill="var(--accent)" /><path d="M7 21l6-6 4 4 8-9" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" /></svg>
        </div>
        <h1>{t('app.name')}</h1>
        <p>{t('app.tagline')}</p>
        <ul className="auth-markets">
          <li><i className="dot krx" />{t('markets.KRX')}</li>
          <li><i className="dot us" />{t('markets.US')}</li>
          <li><i className="dot crypto" />{t('markets.CRYPTO')}</li>
        </ul>
      </div>
      <form className="card auth-card" onSubmit={submit} noValidate>
        <div className="auth-tabs" role="tablist">
          <a href="#/login" role="tab" aria-selected={!isSignup} className={!isSignup ? 'active' : ''}>{t('auth.login')}</a>
          <a href="#/signup" role="tab" aria-selected={isSignup} className={isSignup ? 'active' : ''}>{t('auth.signup')}</a>
        </div>
        {notice && !error && <p className="notice">{notice}</p>}
        <label>
          <span>{t('auth.username')}</span>
          <input name="username" autoComplete="username" autoCapitalize="none" spellCheck={false} value={username} onChange={(e) => setUsername(e.target.value)} required />
          {isSignup && <small>{t('auth.usernameHint')}</small>}
        </label>
        <label>
          <span>{t('auth.password')}</span>
          <input name="password" type="password" autoComplete={isSignup ? 'new-password' : 'current-password'} value={password} onChange={(e) => setPassword(e.target.value)} required />
          {isSignup && <small>{t('auth.passwordHint')}</small>}
        </label>
        {isSignup && (
          <>
            <label>
              <span>{t('auth.nickname')}</span>
              <input name="nickname" value={nickname} maxLength={32} onChange={(e) => setNickname(e.target.value)} required />
            </label>
            <label>
              <span>{t('auth.invite')}</span>
              <input name="invite_code" value={invite} onChange={(e) => setInvite(e.target.value)} autoCapitalize="none" />
            </label>
          </>
        )}
        {error && (
          <p className="form-error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary big" disabled={busy} data-testid="auth-submit">
          {busy ? '…' : isSignup ? t('auth.signup') : t('auth.login')}
        </button>
        <a className="switch" href={isSignup ? '#/login' : '#/signup'}>
          {isSignup ? t('auth.toLogin') : t('auth.toSignup')}
        </a>
        <button type="button" className="ghost small lang-switch" onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')}>
          {t('nav.language')}
        </button>
      </form>
    </div>
  );
}
