/**
 * 정정: change an open order's quantity and prices (PATCH /api/orders/{id}, only the fields its
 * type has, only what changed). The server re-runs the door rules; its 400/409 detail is shown.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../lib/api';
import { toPlain } from '../lib/decimal';
import { parseUserDecimal, qty } from '../lib/format';
import { type Key, readableDetail } from '../lib/i18n';
import type { Order, OrderChanges } from '../lib/types';
import { modifyOrder, toast } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';
import { modifiableFields } from '../state/ticket';
import { Message } from './common';

export function ModifyOrder({ o, onDone }: { o: Order; onDone: () => void }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const fields = modifiableFields(o);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map(([k, v]) => [k, v ? toPlain(parseUserDecimal(v) ?? 0n) : ''])));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; secondary: string | null } | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const changes: OrderChanges = {};
    for (const [k, before] of fields) {
      const v = parseUserDecimal(values[k] ?? '');
      if (v === null || v <= 0n) {
        setError({ text: t('orders.badValue', { field: t(`field.${k}` as Key) }), secondary: null });
        return;
      }
      if (before === '' || parseUserDecimal(before) !== v) changes[k] = toPlain(v);
    }
    if (Object.keys(changes).length === 0) {
      setError({ text: t('orders.nothingChanged'), secondary: null });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await modifyOrder(o.id, changes);
      toast('success', t('orders.modified'));
      onDone();
    } catch (err) {
      setError(readableDetail(lang, err instanceof ApiError ? err.detail : String(err)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="modify" onSubmit={submit} noValidate data-testid="modify-form" aria-label={t('orders.modifyTitle')}>
      {fields.map(([k]) => (
        <label key={k} className="field">
          <span>
            {t(`field.${k}` as Key)}
            {k === 'quantity' && o.filled_quantity && parseUserDecimal(o.filled_quantity) ? ` (${t('orders.filledOf')} ${qty(o.filled_quantity)})` : ''}
          </span>
          <input inputMode="decimal" autoComplete="off" value={values[k] ?? ''} onChange={(e) => setValues({ ...values, [k]: e.target.value })} data-testid={`modify-${k}`} />
        </label>
      ))}
      <div className="modify-actions">
        <button type="submit" className="primary small" disabled={busy} data-testid="modify-save">
          {t('orders.save')}
        </button>
        <button type="button" className="ghost small" onClick={onDone}>
          {t('orders.close')}
        </button>
      </div>
      {error && (
        <p className="result error" role="alert" data-testid="modify-error">
          <Message text={error.text} secondary={error.secondary} />
        </p>
      )}
    </form>
  );
}
