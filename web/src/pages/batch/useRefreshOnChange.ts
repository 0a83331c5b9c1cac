import { useEffect, useRef } from 'react';

/**
 * Calls `refresh` when `signature` (what the batch's progress says) changes: at most every
 * `throttleMs` while the batch runs, at once when it has just ended (its last rows settle then).
 * Nothing happens while `paused` (a page of rows is loading); the change is taken up after.
 */
export function useRefreshOnChange(
  signature: string,
  { throttleMs, live, paused = false }: { throttleMs: number; live: boolean; paused?: boolean },
  refresh: () => void,
): void {
  const handled = useRef(signature);
  const lastRefresh = useRef(Date.now());
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;

  useEffect(() => {
    if (paused || signature === handled.current) return;
    const t = window.setTimeout(
      () => {
        handled.current = signature;
        lastRefresh.current = Date.now();
        refreshRef.current();
      },
      live ? Math.max(0, lastRefresh.current + throttleMs - Date.now()) : 0,
    );
    return () => window.clearTimeout(t);
  }, [signature, live, paused, throttleMs]);
}
