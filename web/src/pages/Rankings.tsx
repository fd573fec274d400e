/** The leaderboard by period: time-weighted returns, rank changes, risk figures, benchmark rows;
 * the season banner, my rank over time, the hall of fame and friends' trades. */
import { useCallback, useEffect, useState } from 'react';
import { Change, dirClass, Empty, Loading, TabList, tabPanelProps } from '../components/common';
import { RankChart } from '../components/RankChart';
import { SeasonBanner } from '../components/SeasonBanner';
import { FEED_LIMIT, api } from '../lib/api';
import { errorMessage } from '../lib/i18n';
import { fixed, krw, qty, shortDateTime } from '../lib/format';
import { href } from '../lib/router';
import type { Period, RankingRow, RankPoint, Season, SeasonDetail, Trade } from '../lib/types';
import { useT } from '../state/hooks';
import { onFeed } from '../state/actions';
import { addToFeed, isMe } from '../state/logic';
import { useStore } from '../state/store';

const PERIODS: readonly Period[] = ['day', 'week', 'month', 'season', 'all'];

/** The season the page is about: the running one, else the next, else none. */
function currentSeason(seasons: Season[]): Season | null {
  return seasons.find((s) => s.status === 'running') ?? [...seasons].reverse().find((s) => s.status === 'scheduled') ?? null;
}

function RankChange({ change }: { change: number | null | undefined }) {
  const t = useT();
  if (change === undefined) return null;
  const [mark, cls, label] =
    change === null ? ['NEW', 'new', t('rank.new')]
    : change > 0 ? [`▲${change}`, 'up', t('rank.up', { n: change })]
    : change < 0 ? [`▼${-change}`, 'down', t('rank.down', { n: -change })]
    : ['–', 'same', t('rank.same')];
  return (
    <span className={`rank-change ${cls}`} data-testid="rank-change" title={label}>
      <span aria-hidden>{mark}</span>
      <span className="sr-only">{label}</span>
    </span>
  );
}

function Board({ rows }: { rows: RankingRow[] }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  return (
    <div className="card list board" data-testid="rankings">
      <div className="rank-row head" aria-hidden>
        <span>{t('rank.rank')}</span>
        <span>{t('rank.nickname')}</span>
        <span className="num">{t('rank.equity')}</span>
        <span className="num">{t('rank.return')}</span>
        <span className="num desk">{t('rank.drawdown')}</span>
        <span className="num desk">{t('rank.volatility')}</span>
        <span className="num desk">{t('rank.sharpe')}</span>
        <span className="num desk">{t('rank.trades')}</span>
      </div>
      <ol className="plain">
        {rows.map((r) => {
          const mine = isMe(r, me);
          const name = r.benchmark && r.nickname === 'Cash' ? t('rank.bench.Cash') : r.nickname;
          return (
            <li
              key={r.user_id ?? `bench-${r.nickname}`}
              className={`rank-row${mine ? ' mine' : ''}${r.benchmark ? ' bench' : ''}${r.rank <= 3 ? ' top' : ''}`}
              data-testid={r.benchmark ? 'bench-row' : 'rank-row'}
            >
              <span className="rank-cell">
                <span className={`rank${r.rank <= 3 ? ` medal m${r.rank}` : ''}`}>{r.rank}</span>
                {!r.benchmark && <RankChange change={r.rank_change} />}
              </span>
              <span className="nick">
                <span>
                  {r.user_id ? <a href={href({ page: 'user', userId: r.user_id })}>{name}</a> : name}
                  {mine && <em className="tag">{t('rank.me')}</em>}
                  {r.benchmark && <em className="tag bench-tag">{t('rank.benchmark')}</em>}
                </span>
                <small className="num phone-only">{krw(r.equity_krw, lang)}</small>
              </span>
              <span className="num" title={r.equity_krw}>{krw(r.equity_krw, lang)}</span>
              <span className={`num ${dirClass(r.return_pct)}`}>
                <Change value={r.return_pct} pill />
              </span>
              <span className="num desk">{r.max_drawdown_pct ? `${fixed(r.max_drawdown_pct, 2)}%` : '–'}</span>
              <span className="num desk">{r.volatility_pct ? `${fixed(r.volatility_pct, 2)}%` : '–'}</span>
              <span className="num desk">{r.sharpe ?? '–'}</span>
              <span className="num desk">{r.benchmark ? '–' : (r.trades ?? 0)}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function HallOfFame({ ended }: { ended: SeasonDetail[] }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  return (
    <section className="card hall" data-testid="hall-of-fame" aria-labelledby="hall-title">
      <h2 id="hall-title">{t('hall.title')}</h2>
      {ended.length === 0 ? (
        <p className="muted">{t('hall.none')}</p>
      ) : (
        ended.map(({ season, standings }) => (
          <div key={season.id} className="hall-season">
            <h3>{season.name}</h3>
            <ol className="podium">
              {standings.slice(0, 3).map((r) => (
                <li key={r.user_id ?? r.nickname}>
                  <span aria-hidden>{['🥇', '🥈', '🥉'][r.rank - 1]}</span>{' '}
                  {r.user_id ? <a href={href({ page: 'user', userId: r.user_id })}>{r.nickname}</a> : r.nickname}{' '}
                  <Change value={r.return_pct} /> <small className="muted">{krw(r.equity_krw, lang)}</small>
                </li>
              ))}
            </ol>
          </div>
        ))
      )}
    </section>
  );
}

export function TradeLine({ trade }: { trade: Trade }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inst = useStore((s) => s.instrumentsById[trade.ticker_id]);
  const name = inst ? (lang === 'ko' ? inst.name_ko ?? inst.name : inst.name) : trade.ticker_id;
  return (
    <li className="trade-line" data-testid="trade-line">
      <span>
        <a href={href({ page: 'user', userId: trade.user_id })}>{trade.nickname}</a>{' '}
        {name} {qty(trade.quantity)} {t(trade.side === 'BUY' ? 'feed.buy' : 'feed.sell')}
      </span>
      <small className="muted">
        {krw(trade.total_krw, lang)} · {shortDateTime(trade.filled_at, lang)}
      </small>
    </li>
  );
}

function Feed({ trades }: { trades: Trade[] | null }) {
  const t = useT();
  return (
    <section className="card feed" data-testid="feed" aria-labelledby="feed-title">
      <h2 id="feed-title">{t('feed.title')}</h2>
      {!trades ? <Loading /> : trades.length === 0 ? <p className="muted">{t('feed.none')}</p> : (
        <ul className="plain">{trades.map((x) => <TradeLine key={x.id} trade={x} />)}</ul>
      )}
    </section>
  );
}

export function RankingsPage() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const [period, setPeriod] = useState<Period>('all');
  const [rows, setRows] = useState<RankingRow[] | null>(null);
  const [error, setError] = useState<{ e: unknown } | null>(null);
  const [season, setSeason] = useState<Season | null>(null);
  const [mine, setMine] = useState<string[]>([]);
  const [ended, setEnded] = useState<SeasonDetail[]>([]);
  const [history, setHistory] = useState<RankPoint[]>([]);
  const [feed, setFeed] = useState<Trade[] | null>(null);

  const loadSeasons = useCallback(async () => {
    const seasons = await api.seasons();
    const current = currentSeason(seasons);
    setSeason(current);
    setMine(await api.mySeasons());
    const past = seasons.filter((s) => s.status === 'ended').slice(0, 3);
    setEnded(await Promise.all(past.map((s) => api.season(s.id))));
  }, []);

  useEffect(() => {
    let alive = true;
    const load = () => {
      api
        .rankings(period)
        .then((r) => alive && (setRows(r), setError(null)))
        .catch((e: unknown) => alive && (setRows(period === 'season' ? [] : null), setError({ e })));
      if (me) api.rankHistory(me.id, period).then((h) => alive && setHistory(h)).catch(() => alive && setHistory([]));
    };
    setRows(null);
    load();
    const id = setInterval(load, 30000);
    return () => {
      alive = false;
      clearInterval(id);
    };
  }, [period, me]);

  useEffect(() => {
    void loadSeasons().catch(() => {});
    void api
      .feed()
      .then((list) => setFeed((live) => (live ?? []).reduce((f, t) => addToFeed(f, t, FEED_LIMIT), list)))
      .catch(() => setFeed((live) => live ?? []));
  }, [loadSeasons]);

  // Fills shown live come on the websocket (a fill that came before the list stays in it).
  useEffect(() => onFeed((trade) => setFeed((f) => addToFeed(f ?? [], trade, FEED_LIMIT))), []);

  const joined = !!season && mine.includes(season.id);
  return (
    <div className="page rankings">
      <h1 className="page-title">{t('rank.title')}</h1>
      <SeasonBanner season={season} joined={joined} onJoined={() => void loadSeasons()} />
      <p className="muted">{t('rank.note')}</p>
      <TabList items={PERIODS} selected={period} onSelect={setPeriod} label={t('rank.period')} idPrefix="period" className="tabs period-tabs" render={(p) => t(`rank.p.${p}`)} />
      <div {...tabPanelProps('period', period)}>
        {error && (!rows || rows.length === 0) && <p className="form-error">{t('common.error', { detail: errorMessage(lang, error.e).text })}</p>}
        {!rows ? (!error && <Loading />) : rows.length === 0 ? <Empty>{t('rank.none')}</Empty> : <Board rows={rows} />}
        <section className="card" aria-labelledby="history-title">
          <h2 id="history-title">{t('rank.history')}</h2>
          <RankChart points={history} />
        </section>
      </div>
      <div className="rank-side">
        <HallOfFame ended={ended} />
        <Feed trades={feed} />
      </div>
    </div>
  );
}
