import { useEffect, useId, useState, type FormEvent } from 'react';
import { usePipelines } from '../../queries/operations.ts';
import { hrefTo, navigate, type BatchFilters, type BatchTab } from '../../router.ts';
import { Field } from '../../components.tsx';

export const hasFilters = (f: BatchFilters) => Boolean(f.pipeline || f.createdBy || f.createdAfter || f.createdBefore);

/** The filter bar: pipeline and dates apply at once, the creator on Enter or "Apply". */
export function HistoryFilters({ tab, filters }: { tab: BatchTab; filters: BatchFilters }) {
  const id = useId();
  const pipelines = usePipelines().data;
  const [createdBy, setCreatedBy] = useState(filters.createdBy ?? '');
  // Back and forward change the filters under the form: follow them.
  useEffect(() => setCreatedBy(filters.createdBy ?? ''), [filters.createdBy]);

  const apply = (next: BatchFilters) => navigate(hrefTo.batches(tab, next));
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    apply({ ...filters, createdBy: createdBy.trim() || undefined });
  };
  // A pipeline named in the hash but not registered (any more) stays choosable, so the select tells the truth.
  const names = pipelines?.map((p) => p.name) ?? [];
  if (filters.pipeline && !names.includes(filters.pipeline)) names.push(filters.pipeline);

  return (
    <form
      className="history-filters"
      role="search"
      aria-label="Filter batches"
      onSubmit={onSubmit}
      data-testid="history-filters"
    >
      <Field htmlFor={`${id}-pipeline`} label="Pipeline">
        <select
          id={`${id}-pipeline`}
          value={filters.pipeline ?? ''}
          onChange={(e) => apply({ ...filters, pipeline: e.target.value || undefined })}
          data-testid="filter-pipeline"
        >
          <option value="">All pipelines</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {pipelines?.find((p) => p.name === n)?.title ?? n}
            </option>
          ))}
        </select>
      </Field>
      <Field htmlFor={`${id}-by`} label="Created by">
        <input
          id={`${id}-by`}
          type="text"
          value={createdBy}
          onChange={(e) => setCreatedBy(e.target.value)}
          placeholder="e.g. alice or schedule:nightly"
          maxLength={200}
          autoComplete="off"
          data-testid="filter-created-by"
        />
      </Field>
      <Field htmlFor={`${id}-after`} label="Created from">
        <input
          id={`${id}-after`}
          type="date"
          value={filters.createdAfter ?? ''}
          max={filters.createdBefore}
          onChange={(e) => apply({ ...filters, createdAfter: e.target.value || undefined })}
          data-testid="filter-created-after"
        />
      </Field>
      <Field htmlFor={`${id}-before`} label="Created until">
        <input
          id={`${id}-before`}
          type="date"
          value={filters.createdBefore ?? ''}
          min={filters.createdAfter}
          onChange={(e) => apply({ ...filters, createdBefore: e.target.value || undefined })}
          data-testid="filter-created-before"
        />
      </Field>
      <div className="history-filter-actions">
        <button type="submit" className="btn" data-testid="filter-apply">
          Apply
        </button>
        {hasFilters(filters) && (
          <a className="btn btn-ghost" href={hrefTo.batches(tab)} data-testid="filter-clear">
            Clear filters
          </a>
        )}
      </div>
    </form>
  );
}
