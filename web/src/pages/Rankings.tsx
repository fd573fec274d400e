/** The leaderboard: everyone valued in KRW, with return %. */
import { useEffect, useState } from 'react';
import { Change, dirClass, Empty, Loading } from '../components/common';
import { api } from '../lib/api';
import { errorMessage } from '../lib/i18n';
import { krw } from '../lib/format';
import type { RankingRow } from '../lib/types';
import { useT } from '../state/hooks';
import { isMe } from '../state/logic';
import { useStore } from '../state/store';

export function RankingsPage() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const [rows, setRows] = useState<RankingRow[] | null>(null);
  const [error, setError] = useState<{ e: unknown } | null>(null);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api
        .rankings()
        .then((r) => alive && (setRows(r), setError(null)))
        .catch((e: unknown) => alive && setError({ e }));
    void load();
    const id = setInterval(load, 30000);
    return () => {
      alive = false;
      clearInterval(id);
    };
  }, []);

  return (
    <div className="page rankings">
      <h1 className="page-title">{t('rank.title')}</h1>
      <p className="muted">{t('rank.note')}</p>
      {error && !rows && <p className="form-error">{t('common.error', { detail: errorMessage(lang, error.e).text })}</p>}
      {!rows ? (
        !error && <Loading />
      ) : rows.length === 0 ? (
        <Empty>{t('rank.none')}</Empty>
      ) : (
        <section className="card list" data-testid="rankings">
          <div className="rank-row head">
            <span>{t('rank.rank')}</span>
            <span>{t('rank.nickname')}</span>
            <span className="num">{t('rank.equity')}</span>
            <span className="num">{t('rank.return')}</span>
          </div>
          {rows.map((r) => {
            const mine = isMe(r, me);
            return (
              <div key={r.user_id ?? `${r.rank}-${r.nickname}`} className={`rank-row${mine ? ' mine' : ''}${r.rank <= 3 ? ' top' : ''}`} data-testid="rank-row">
                <span className={`rank${r.rank <= 3 ? ` medal m${r.rank}` : ''}`}>{r.rank}</span>
                <span className="nick">
                  <span>
                    {r.nickname}
                    {mine && <em className="tag">{t('rank.me')}</em>}
                  </span>
                  <small className="num phone-only">{krw(r.equity_krw, lang)}</small>
                </span>
                <span className="num" title={r.equity_krw}>{krw(r.equity_krw, lang)}</span>
                <span className={`num ${dirClass(r.return_pct)}`}>
                  <Change value={r.return_pct} pill />
                </span>
              </div>
            );
          })}
        </section>
      )}
    </div>
  );
}
