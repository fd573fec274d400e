/** A player's profile: badges, this season's standing, past seasons, and their holdings and
 * recent trades when the season's rules and their own setting allow; your own share switch. */
import { useEffect, useState } from 'react';
import { Change, Loading } from '../components/common';
import { api } from '../lib/api';
import { errorMessage } from '../lib/i18n';
import { krw, qty, shortDateTime } from '../lib/format';
import { href } from '../lib/router';
import type { Profile } from '../lib/types';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';
import { TradeLine } from './Rankings';

function ShareSwitch() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [share, setShare] = useState<boolean | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    void api.settings().then((s) => setShare(s.share_trades)).catch(() => setShare(false));
  }, []);
  if (share === null) return null;
  async function toggle(next: boolean) {
    try {
      setShare((await api.saveSettings({ share_trades: next })).share_trades);
      setNote(t('profile.saved'));
    } catch (e) {
      setNote(errorMessage(lang, e).text);
    }
  }
  return (
    <div className="share-switch">
      <label>
        <input type="checkbox" checked={share} onChange={(e) => void toggle(e.target.checked)} data-testid="share-trades" />{' '}
        {t('profile.share')}
      </label>
      {note && <span className="muted" role="status"> {note}</span>}
    </div>
  );
}

export function ProfilePage({ userId }: { userId: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    void api.profile(userId).then(setProfile).catch(setError);
  }, [userId]);
  if (error) return <div className="page"><p className="form-error">{t('common.error', { detail: errorMessage(lang, error).text })}</p></div>;
  if (!profile) return <div className="page"><Loading /></div>;
  const own = me?.id === profile.user_id;
  return (
    <div className="page profile" data-testid="profile">
      <p><a href={href({ page: 'rankings' })}>← {t('profile.back')}</a></p>
      <h1 className="page-title">{profile.nickname}</h1>
      {own && <ShareSwitch />}
      <section className="card" aria-labelledby="badges-title">
        <h2 id="badges-title">{t('profile.badges')}</h2>
        {profile.badges.length === 0 ? <p className="muted">{t('profile.noBadges')}</p> : (
          <ul className="badges" data-testid="badges">
            {profile.badges.map((b) => (
              <li key={b.badge} className="badge" title={shortDateTime(b.awarded_at, lang)}><span aria-hidden>★</span> {t(`badge.${b.badge}` as Parameters<typeof t>[0])}</li>
            ))}
          </ul>
        )}
      </section>
      {profile.season && (
        <section className="card" aria-labelledby="season-title" data-testid="profile-season">
          <h2 id="season-title">{t('profile.season')}</h2>
          <p>
            <strong>{t('profile.seasonRank', { rank: profile.season.rank })}</strong>{' '}
            <Change value={profile.season.return_pct} pill /> {krw(profile.season.equity_krw, lang)}
          </p>
        </section>
      )}
      {profile.hall_of_fame.length > 0 && (
        <section className="card" aria-labelledby="hall-title">
          <h2 id="hall-title">{t('profile.hall')}</h2>
          <ul className="plain">
            {profile.hall_of_fame.map((h) => (
              <li key={h.season_id}>
                {h.name}: {t('profile.rankOf', { rank: h.rank, players: h.players })} <Change value={h.return_pct} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <section className="card" aria-labelledby="holdings-title">
        <h2 id="holdings-title">{t('profile.holdings')}</h2>
        {!profile.holdings_visible ? <p className="muted" data-testid="holdings-hidden">{t('profile.hidden')}</p> : (
          <ul className="plain" data-testid="holdings">
            {profile.holdings.map((h) => (
              <li key={h.ticker_id}>{h.ticker_id} {qty(h.quantity)} · {krw(h.market_value_krw, lang)}</li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="trades-title">
        <h2 id="trades-title">{t('profile.trades')}</h2>
        {!profile.trades_visible ? <p className="muted">{t('profile.hidden')}</p> : (
          <ul className="plain">{profile.recent_trades.map((x) => <TradeLine key={x.id} trade={x} />)}</ul>
        )}
      </section>
    </div>
  );
}
