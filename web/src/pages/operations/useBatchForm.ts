/**
 * The batch form's state and its start: the page's own checks first (name, concurrency, items,
 * settings, threshold), then the API's; either way the problems are listed and focused.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { ApiError, errorMessage, type CreateBatchRequest, type FieldIssue, type Pipeline } from '../../api.ts';
import { useStartBatch } from '../../queries/operations.ts';
import { hrefTo, navigate } from '../../router.ts';
import type { SettingsForm } from './SettingsForm.tsx';
import { pluralOf, type SourceSelection, type SourceTab } from './source.ts';

export const fieldOf = (path: string): string => /^[A-Za-z]+/.exec(path)?.[0] ?? '';

export interface ThresholdDraft {
  on: boolean;
  ratio: string;
  minSettled: string;
  action: 'pause' | 'fail';
}

/** The failure threshold as the API takes it, or undefined when the default applies; problems go into `issues`. */
function readThreshold(t: ThresholdDraft, issues: FieldIssue[]): CreateBatchRequest['failureThreshold'] {
  if (!t.on) return undefined;
  const r = Number(t.ratio);
  const m = Number(t.minSettled);
  if (!(r >= 0 && r <= 1))
    issues.push({ path: 'failureThreshold.ratio', message: 'The failure ratio must be between 0 and 1.' });
  if (!Number.isInteger(m) || m < 1)
    issues.push({
      path: 'failureThreshold.minSettled',
      message: 'Minimum settled items must be a whole number of at least 1.',
    });
  return { ratio: r, minSettled: m, action: t.action };
}

/** The problems panel: what it lists, and a bump each time it is shown so it takes the focus. */
function useProblems(advancedRef: RefObject<HTMLDetailsElement | null>) {
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [formError, setFormError] = useState<string | null>(null);
  const [problemsShown, setProblemsShown] = useState(0);
  const problemsRef = useRef<HTMLDivElement>(null);

  const show = (list: FieldIssue[], message: string | null) => {
    setIssues(list);
    if (advancedRef.current && list.some((i) => fieldOf(i.path) === 'failureThreshold'))
      advancedRef.current.open = true;
    setFormError(message);
    setProblemsShown((n) => n + 1);
  };
  const clear = () => {
    setIssues([]);
    setFormError(null);
  };

  // Once the panel has rendered, bring it into view and focus for keyboard and screen reader users.
  useEffect(() => {
    const el = problemsRef.current;
    if (problemsShown === 0 || !el) return;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: 'nearest' });
  }, [problemsShown]);

  return { issues, formError, problemsRef, show, clear };
}

export function useBatchForm({
  pipeline,
  settings,
  selection,
  tab,
}: {
  pipeline: Pipeline;
  settings: SettingsForm;
  selection: SourceSelection | undefined;
  tab: SourceTab;
}) {
  const noun = pipeline.itemNoun || 'item';
  const [name, setName] = useState('');
  const [concurrency, setConcurrency] = useState('20');
  const [threshold, setThreshold] = useState<ThresholdDraft>({
    on: false,
    ratio: '0.5',
    minSettled: '10',
    action: 'pause',
  });
  const advancedRef = useRef<HTMLDetailsElement>(null);
  const problems = useProblems(advancedRef);
  const start = useStartBatch();

  const onDemoLoaded = useCallback(
    () => setName((cur) => (cur.trim() ? cur : `${pipeline.title} demo`)),
    [pipeline.title],
  );

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (start.isPending || start.isSuccess) return;
    const local: FieldIssue[] = [];
    if (!name.trim()) local.push({ path: 'name', message: 'Give the batch a name.' });
    const conc = Number(concurrency);
    if (!Number.isInteger(conc) || conc < 1 || conc > 1000)
      local.push({ path: 'concurrency', message: 'Concurrency must be a whole number from 1 to 1000.' });
    const built = selection
      ? selection.build()
      : { issue: { path: 'items', message: `Choose the ${pluralOf(noun)} first.` } };
    if ('issue' in built) local.push(built.issue);
    else if (selection?.blocked)
      local.push({ path: tab === 'upload' ? 'upload' : 'items', message: selection.blocked });
    const read = settings.read();
    local.push(...read.issues);
    const failureThreshold = readThreshold(threshold, local);
    if (local.length || 'issue' in built || !read.settings) return problems.show(local, null);

    problems.clear();
    try {
      const created = await start.mutateAsync({
        pipeline: pipeline.name,
        name: name.trim(),
        concurrency: conc,
        settings: read.settings,
        ...(failureThreshold ? { failureThreshold } : {}),
        ...built.source,
      });
      navigate(hrefTo.batch(created.id));
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        settings.showIssues(err.issues);
        problems.show(err.issues, err.message);
      } else problems.show([], errorMessage(err));
    }
  }

  return {
    noun,
    name,
    setName,
    concurrency,
    setConcurrency,
    threshold,
    setThreshold,
    advancedRef,
    problems,
    /** Starting, or started and on the way to the batch's page. */
    submitting: start.isPending || start.isSuccess,
    invalid: (field: string) => problems.issues.some((i) => fieldOf(i.path) === field),
    onDemoLoaded,
    onSubmit,
  };
}

export type BatchFormState = ReturnType<typeof useBatchForm>;
