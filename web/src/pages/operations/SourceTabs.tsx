/** The item source tabs (WAI-ARIA tabs: arrow keys, Home and End move between them). */
import { useRef, type KeyboardEvent, type ReactNode } from 'react';
import type { SourceTab } from './source.ts';

export interface SourceTabDef {
  id: SourceTab;
  label: string;
}

export function SourceTabs({
  tabs,
  active,
  onSelect,
  children,
}: {
  tabs: SourceTabDef[];
  active: SourceTab;
  onSelect: (t: SourceTab) => void;
  children: (id: SourceTab) => ReactNode;
}) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});

  const onKeyDown = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === active);
    const to =
      e.key === 'ArrowRight'
        ? (i + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (i - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    onSelect(tabs[to].id);
    refs.current[tabs[to].id]?.focus();
  };

  return (
    <div className="source-tabs">
      <div className="source-tablist" role="tablist" aria-label="Where the items come from" onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`source-tab-${t.id}`}
            aria-selected={t.id === active}
            aria-controls={`source-panel-${t.id}`}
            tabIndex={t.id === active ? 0 : -1}
            onClick={() => onSelect(t.id)}
            data-testid={`source-tab-${t.id}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      {/* Every source stays mounted, so switching tabs keeps what was chosen in each. */}
      {tabs.map((t) => (
        <div
          key={t.id}
          role="tabpanel"
          id={`source-panel-${t.id}`}
          aria-labelledby={`source-tab-${t.id}`}
          hidden={t.id !== active}
          className="source-panel"
          data-testid={`source-panel-${t.id}`}
        >
          {children(t.id)}
        </div>
      ))}
    </div>
  );
}
