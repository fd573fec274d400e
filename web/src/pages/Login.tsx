/** Log in or sign up. Client-side checks mirror the server's rules; the server's words win. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../lib/api';
import { Message, TabList, tabPanelProps } from '../components/common';
import { characters } from '../lib/format';
import { readableDetail } from '../lib/i18n';
import { navigate } from '../lib/router';
import { login, setLang, signup } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

const USERNAME_RE = /^[a-z0-9_]{3,32}$/;
const MODES = ['login', 'signup'] as const;
/** The server's limit: 32 characters as Python counts them (code points), not UTF-16 units. */
const MAX_NICKNAME = 32;


export function LoginPage({ mode }: { mode: 'login' | 'signup' }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const notice = useStore((s) => s.notice);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const [invite, setInvite] = useState('');
  const [error, setError] = useState<{ text: string; secondary?: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const isSignup = mode === 'signup';

  const nicknameLength = characters(nickname.trim());
  const nicknameTooLong = nicknameLength > MAX_NICKNAME;

  function check(): string | null {
    if (!isSignup) return null;
    if (!USERNAME_RE.test(username)) return t('auth.badUsername');
    if (password.length < 8) return t('auth.badPassword');
    if (nicknameLength < 1) return t('auth.badNickname');
    if (nicknameTooLong) return t('auth.nicknameTooLong', { count: nicknameLength });
    return null;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = check();
    setError(problem ? { text: problem } : null);
    if (problem) return;
    setBusy(true);
    try {
      if (isSignup) await signup(username, password, nickname.trim(), invite.trim() || undefined);
      else await login(username.trim(), password);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status === 401) setError({ text: t('auth.wrong') });
        else if (err.status === 429) setError({ text: t('auth.tooMany') });
        else if (err.status === 0) setError({ text: t('ticket.network') });
        // 409 says which of username or nickname is taken; 503 that hashing is busy; 502/504 the edge's "home is offline".
        else setError(readableDetail(lang, err.detail));
      } else setError({ text: String(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
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
        <TabList
          className="auth-tabs"
          items={MODES}
          selected={mode}
          onSelect={(m) => navigate({ page: 'login', mode: m })}
          label={t('app.name')}
          idPrefix="auth-tab"
          render={(m) => t(m === 'signup' ? 'auth.signup' : 'auth.login')}
        />
        <div {...tabPanelProps('auth-tab', mode)} className="auth-panel">
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
              <input name="nickname" value={nickname} onChange={(e) => setNickname(e.target.value)} required aria-invalid={nicknameTooLong} aria-describedby="nickname-count" />
              <small id="nickname-count" className={nicknameTooLong ? 'field-error' : undefined} data-testid="nickname-count">
                {nicknameTooLong ? t('auth.nicknameTooLong', { count: nicknameLength }) : t('auth.nicknameCount', { count: nicknameLength })}
              </small>
            </label>
            <label>
              <span>{t('auth.invite')}</span>
              <input name="invite_code" value={invite} onChange={(e) => setInvite(e.target.value)} autoCapitalize="none" />
            </label>
          </>
        )}
        {error && (
          <p className="form-error" role="alert" data-testid="auth-error">
            <Message text={error.text} secondary={error.secondary} />
          </p>
        )}
        <button type="submit" className="primary big" disabled={busy} data-testid="auth-submit">
          {busy ? '…' : isSignup ? t('auth.signup') : t('auth.login')}
        </button>
        </div>
        <a className="switch" href={isSignup ? '#/login' : '#/signup'}>
          {isSignup ? t('auth.toLogin') : t('auth.toSignup')}
        </a>
        <button type="button" className="ghost small lang-switch" onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')}>
          {t('nav.language')}
        </button>
      </form>
    </main>
  );
}
