/** The picker's table: a checkbox per row (the whole row is a target for the mouse) and one for the page. */
import { useEffect, useRef } from 'react';
import type { StoredEntity } from '../../api.ts';
import { humanize } from '../../../../contract/field-messages';
import { cellText, isScalar } from './entity-columns.ts';
import { nounOf } from './source.ts';
import type { EntityList } from './useEntityList.ts';
import type { EntitySelection } from './useEntitySelection.ts';

export function EntityTable({ list, selection, noun }: { list: EntityList; selection: EntitySelection; noun: string }) {
  const { entities, columns, loading, page } = list;
  const pageCheckRef = useRef<HTMLInputElement>(null);
  const { pickedOnPage, allOnPage } = selection;
  useEffect(() => {
    if (pageCheckRef.current) pageCheckRef.current.indeterminate = pickedOnPage > 0 && !allOnPage;
  }, [pickedOnPage, allOnPage]);
  const span = Math.max(columns.length, 1) + 1;

  return (
    <div className="table-wrap picker-table-wrap">
      <table
        className="table compact entity-table"
        data-testid="entity-table"
        aria-busy={loading || undefined}
        aria-label={`Stored ${nounOf(noun, 2)}`}
      >
        <thead>
          <tr>
            <th scope="col" className="col-check">
              <input
                ref={pageCheckRef}
                type="checkbox"
                checked={allOnPage}
                disabled={entities.length === 0}
                onChange={(e) => selection.togglePage(e.target.checked)}
                aria-label={`Select every ${noun} on this page`}
                data-testid="entity-check-page"
              />
            </th>
            {columns.length === 0 ? (
              <th scope="col">Key</th>
            ) : (
              columns.map((c) => (
                <th scope="col" key={c}>
                  {humanize(c)}
                </th>
              ))
            )}
          </tr>
        </thead>
        <tbody className={loading && page ? 'is-stale' : undefined}>
          {entities.map((e) => (
            <EntityRow
              key={e.id}
              entity={e}
              columns={columns}
              on={selection.isPicked(e)}
              onToggle={(on) => selection.toggle(e, on)}
            />
          ))}
          {!loading && !list.error && entities.length === 0 && (
            <tr>
              <td colSpan={span} className="empty-cell" data-testid="entity-empty">
                {list.hasFilter
                  ? `No ${nounOf(noun, 2)} match.`
                  : `No stored ${nounOf(noun, 2)} yet: import a file of them above, or upload a file instead.`}
              </td>
            </tr>
          )}
          {loading && !page && (
            <tr>
              <td colSpan={span} className="empty-cell">
                Loading {nounOf(noun, 2)}…
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function EntityRow({
  entity: e,
  columns,
  on,
  onToggle,
}: {
  entity: StoredEntity;
  columns: string[];
  on: boolean;
  onToggle: (on: boolean) => void;
}) {
  const name = columns[0] && isScalar(e.data?.[columns[0]]) ? String(e.data[columns[0]]) : e.key;
  return (
    <tr
      className={on ? 'is-selected' : undefined}
      data-testid={`entity-row-${e.key}`}
      aria-selected={on}
      onClick={(ev) => {
        // The whole row is a target for the mouse; the checkbox stays the control.
        if ((ev.target as HTMLElement).closest('input, a, button')) return;
        onToggle(!on);
      }}
    >
      <td className="col-check">
        <input
          type="checkbox"
          checked={on}
          onChange={(ev) => onToggle(ev.target.checked)}
          aria-label={`Select ${name}`}
          data-testid={`entity-check-${e.key}`}
        />
      </td>
      {columns.length === 0 ? (
        <td>
          <code>{e.key}</code>
        </td>
      ) : (
        columns.map((c, i) => (
          <td key={c} className={i === 0 ? 'col-primary' : undefined}>
            <span className="truncate">{cellText(e.data?.[c])}</span>
            {i === 0 && <span className="row-key">{e.key}</span>}
          </td>
        ))
      )}
    </tr>
  );
}
