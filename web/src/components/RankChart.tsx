/** A player's rank over time as a small SVG line (1st at the top), with a text alternative. */
import { shortDateTime } from '../lib/format';
import type { RankPoint } from '../lib/types';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

const W = 320;
const H = 96;
const PAD = 10;

export function RankChart({ points }: { points: RankPoint[] }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  if (points.length === 0) return <p className="muted" data-testid="rank-chart-empty">{t('rank.historyNone')}</p>;
  const worst = Math.max(...points.map((p) => p.rank), 2);
  const x = (i: number) => PAD + (points.length === 1 ? (W - 2 * PAD) / 2 : (i * (W - 2 * PAD)) / (points.length - 1));
  const y = (rank: number) => PAD + ((rank - 1) * (H - 2 * PAD)) / (worst - 1);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.rank).toFixed(1)}`).join(' ');
  const label = t('rank.historyLabel', {
    from: shortDateTime(points[0].time, lang),
    to: shortDateTime(points[points.length - 1].time, lang),
    ranks: points.map((p) => p.rank).join(', '),
  });
  return (
    <svg className="rank-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="rank-chart">
      <line x1={PAD} x2={W - PAD} y1={y(1)} y2={y(1)} className="grid" />
      <path d={path} className="line" fill="none" />
      {points.map((p, i) => <circle key={p.time} cx={x(i)} cy={y(p.rank)} r={2.5} className="dot" />)}
    </svg>
  );
}
