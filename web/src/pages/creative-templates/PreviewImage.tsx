/**
 * A creative template drawn by the API (a PNG), and the placeholders its recipient had no value
 * for; shared by the templates page and the batch form.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, errorMessage, type FieldIssue, type TemplatePreview } from '../../api.ts';

/**
 * `blob` as a `data:` URL. Not an object URL: the page's Content-Security-Policy allows images
 * from `'self' data:` only (api/auth/middleware.ts), so a `blob:` URL would not load.
 */
function useDataUrl(blob: Blob | undefined): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    setUrl(null);
    if (!blob) return;
    const reader = new FileReader();
    reader.onload = () => setUrl(typeof reader.result === 'string' ? reader.result : null);
    reader.readAsDataURL(blob);
    return () => reader.abort();
  }, [blob]);
  return url;
}

export function PreviewImage({
  preview,
  alt,
  testId,
  missingLabel,
}: {
  preview: TemplatePreview;
  alt: string;
  testId: string;
  /** Who had no value: "The sample recipient", "The first recipient". */
  missingLabel: string;
}) {
  const url = useDataUrl(preview.image);
  return (
    <figure className="creative-preview" data-testid={testId}>
      {url && <img src={url} alt={alt} data-testid={`${testId}-img`} />}
      {preview.missingFields.length > 0 && (
        <figcaption className="message message-warn" role="status" data-testid={`${testId}-missing`}>
          {missingLabel} has no value for{' '}
          {preview.missingFields.map((f, i) => (
            <span key={f}>
              {i > 0 && ', '}
              <code>{f}</code>
            </span>
          ))}
          : {preview.missingFields.length === 1 ? 'it is' : 'they are'} printed empty.
        </figcaption>
      )}
    </figure>
  );
}

/** Field names, each in code, comma-separated; `none` when there are none. */
export function FieldNames({ names, none = 'none', testId }: { names: string[]; none?: ReactNode; testId?: string }) {
  if (names.length === 0)
    return (
      <span className="muted" data-testid={testId}>
        {none}
      </span>
    );
  return (
    <span data-testid={testId}>
      {names.map((n, i) => (
        <span key={n}>
          {i > 0 && ', '}
          <code data-testid={testId && `${testId}-name`}>{n}</code>
        </span>
      ))}
    </span>
  );
}

/** Why the API refused: its message, and each field at fault in plain words with its path. */
export function ApiProblem({
  error,
  testId,
  stripPrefix,
  subject = 'The template',
}: {
  error: unknown;
  testId: string;
  /** Left off the paths shown (a draft's issues name `template.canvas…`; the page says `canvas…`). */
  stripPrefix?: string;
  subject?: string;
}) {
  const issues: FieldIssue[] = error instanceof ApiError ? error.issues : [];
  const where = (path: string) => (stripPrefix && path.startsWith(stripPrefix) ? path.slice(stripPrefix.length) : path);
  return (
    <div className="message message-error" role="alert" data-testid={testId}>
      <p>{issues.length > 0 ? problemsText(subject, issues.length) : errorMessage(error)}</p>
      {issues.length > 0 && (
        <ul className="issue-list">
          {issues.map((i, n) => (
            <li key={n} data-testid={`${testId}-issue`}>
              <code className="issue-path">{where(i.path)}</code> <span className="issue-msg">{i.message}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

const problemsText = (subject: string, n: number) =>
  n === 1 ? `${subject} has a problem to fix:` : `${subject} has ${n} problems to fix:`;
