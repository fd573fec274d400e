/** The season banner: name, a countdown to its start or end, its rules, and the join button. */
import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { errorMessage } from '../lib/i18n';
import { krw, until } from '../lib/format';
import type { Season } from '../lib/types';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

export function seasonRules(season: Season, t: ReturnType<typeof useT>, lang: 'ko' | 'en'): string[] {
  const rules = [
    t('season.cash', { cash: krw(season.initial_cash_krw, lang) }),
    t('season.markets', { markets: season.markets.map((m) => t(`market.${m}`)).join(', ') }),
    t('season.resets', { n: season.resets_allowed }),
    t(season.costs === 'none' ? 'season.costs.zero' : 'season.costs.standard'),
    t(season.late_join ? 'season.lateJoin' : 'season.noLateJoin'),
    t(`season.vis.${season.portfolio_visibility}`),
  ];
  if (season.max_position_pct) rules.push(t('season.cap', { pct: String(Number(season.max_position_pct)) }));
  return rules;
}

export function SeasonBanner({ season, joined, onJoined }: { season: Season | null; joined: boolean; onJoined: () => void }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [now, setNow] = useState(() => new Date());
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    const id = setInterval(() => setNow(new Date()), 30000);
    return () => clearInterval(id);
  }, []);
  if (!season) {
    return (
      <section className="card season-banner" data-testid="season-banner">
        <p className="muted">{t('season.none')}</p>
      </section>
    );
  }
  const countdown =
    season.status === 'scheduled' ? t('season.startsIn', { time: until(season.starts_at, now, lang) ?? '' })
    : season.status === 'running' ? t('season.endsIn', { time: until(season.ends_at, now, lang) ?? '' })
    : t('season.ended');
  const canJoin = !joined && (season.status === 'scheduled' || (season.status === 'running' && season.late_join));
  async function join() {
    try {
      const answer = await api.joinSeason(season!.id);
      setNote(t(answer.joined ? 'season.joinedNow' : 'season.joined'));
      onJoined();
    } catch (e) {
      setNote(errorMessage(lang, e).text);
    }
  }
  return (
    <section className="card season-banner" data-testid="season-banner" aria-labelledby="season-name">
      <div className="season-head">
        <div>
          <span className="tag">{t('season.banner')}</span>
          <h2 id="season-name">{season.name}</h2>
          <p className="countdown" data-testid="season-countdown">
            {countdown} · {t('season.players', { n: season.participants })}
          </p>
        </div>
        {canJoin ? (
          <button className="primary" onClick={() => void join()} data-testid="season-join">{t('season.join')}</button>
        ) : joined && season.status !== 'ended' ? (
          <span className="tag ok">{t('season.joined')}</span>
        ) : null}
      </div>
      <h3 className="sr-only">{t('season.rules')}</h3>
      <ul className="season-rules" aria-label={t('season.rules')}>
        {seasonRules(season, t, lang).map((r) => <li key={r}>{r}</li>)}
      </ul>
      {note && <p className="muted" role="status">{note}</p>}
    </section>
  );
}
