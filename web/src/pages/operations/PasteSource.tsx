/** Items as a pasted JSON array, for power users: the demo items or a .json file can fill it. */
import { useEffect, useMemo, useState } from 'react';
import { errorMessage } from '../../api.ts';
import { useDemoItemsLoader } from '../../queries/operations.ts';
import { countOf, pluralOf, type SourceSelection } from './source.ts';

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `not valid JSON: ${errorMessage(err)}` };
  }
}

/** Live hint under the items box; skipped for very large pastes to keep typing smooth. */
function summarizeItems(text: string): { count?: number; error?: string } {
  if (!text.trim()) return {};
  if (text.length > 2_000_000) return {};
  const parsed = parseJson(text);
  if (!parsed.ok) return { error: 'Not valid JSON yet' };
  if (!Array.isArray(parsed.value)) return { error: 'Items must be a JSON array' };
  return { count: parsed.value.length };
}

function readItems(text: string, noun: string): { items: unknown[] } | { message: string } {
  if (!text.trim()) return { message: `Paste the ${pluralOf(noun)} as a JSON array, or load the demo items.` };
  const parsed = parseJson(text);
  if (!parsed.ok) return { message: parsed.message };
  if (!Array.isArray(parsed.value)) return { message: 'Items must be a JSON array: [ {...}, {...} ].' };
  if (parsed.value.length === 0) return { message: 'A batch needs at least one item.' };
  return { items: parsed.value };
}

/** What the pasted text selects: its count, and the items (or what is wrong with them) when the batch is built. */
function usePastedSelection(itemsText: string, count: number | undefined, noun: string): SourceSelection {
  return useMemo<SourceSelection>(
    () => ({
      count: count ?? null,
      summary: count !== undefined ? `Selected: ${countOf(count, noun)}` : 'No items yet',
      build: () => {
        const r = readItems(itemsText, noun);
        return 'items' in r ? { source: { items: r.items } } : { issue: { path: 'items', message: r.message } };
      },
      firstItem: async () => {
        const r = readItems(itemsText, noun);
        if ('message' in r) throw new Error(r.message);
        return r.items[0];
      },
    }),
    [count, itemsText, noun],
  );
}

export function PasteSource({
  pipeline,
  noun,
  invalid,
  onChange,
  onDemoLoaded,
}: {
  pipeline: string;
  noun: string;
  /** The API found a problem with the items. */
  invalid: boolean;
  onChange: (s: SourceSelection) => void;
  onDemoLoaded: () => void;
}) {
  const [itemsText, setItemsText] = useState('');
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const info = useMemo(() => summarizeItems(itemsText), [itemsText]);
  const demoItems = useDemoItemsLoader(pipeline);

  async function loadDemo() {
    setBusy(true);
    setNotice(null);
    setLoadError(null);
    try {
      const items = await demoItems();
      setItemsText(JSON.stringify(items, null, 2));
      onDemoLoaded();
      setNotice(`Loaded ${countOf(items.length, noun)} of demo data.`);
    } catch (err) {
      setLoadError(`Could not load demo items: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  }

  async function loadFile(file: File | undefined) {
    if (!file) return;
    setNotice(null);
    setLoadError(null);
    try {
      setItemsText(await file.text());
      setNotice(`Loaded ${file.name}.`);
    } catch (err) {
      setLoadError(`Could not read ${file.name}: ${errorMessage(err)}`);
    }
  }

  const selection = usePastedSelection(itemsText, info.count, noun);
  useEffect(() => onChange(selection), [selection, onChange]);

  return (
    <div className="field">
      <div className="label-row">
        <label htmlFor="batch-items">{noun[0].toUpperCase() + pluralOf(noun).slice(1)} (JSON array)</label>
        <div className="label-actions">
          <button
            type="button"
            className="btn btn-small"
            onClick={loadDemo}
            disabled={busy}
            data-testid="load-demo-items"
          >
            {busy ? 'Loading…' : 'Load demo items'}
          </button>
          <label className="btn btn-small file-btn">
            Load file…
            <input
              type="file"
              accept=".json,application/json"
              className="visually-hidden"
              onChange={(e) => void loadFile(e.target.files?.[0])}
              data-testid="input-items-file"
            />
          </label>
        </div>
      </div>
      <textarea
        id="batch-items"
        className="code"
        rows={12}
        spellCheck={false}
        value={itemsText}
        onChange={(e) => setItemsText(e.target.value)}
        placeholder={'[\n  { "key": "first", ... },\n  { "key": "second", ... }\n]'}
        aria-invalid={invalid || undefined}
        aria-describedby="items-hint"
        data-testid="input-items"
      />
      <span
        id="items-hint"
        className={`hint ${info.error ? 'hint-warn' : ''}`}
        data-testid="items-count"
        aria-live="polite"
      >
        {info.error ?? (info.count !== undefined ? countOf(info.count, noun) : 'One JSON object per item.')}
      </span>
      {(notice || loadError) && (
        <span className={`hint ${loadError ? 'hint-error' : ''}`} role="status" data-testid="form-notice">
          {loadError ?? notice}
        </span>
      )}
    </div>
  );
}
