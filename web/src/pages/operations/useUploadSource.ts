/**
 * The upload source's state: the file sent, the mapping asked for and the check of it, and what
 * the batch would get (the selection the batch form is told about).
 */
import { useEffect, useMemo, useState } from 'react';
import { errorMessage, type ColumnMapping, type UploadCheck, type UploadedFile } from '../../api.ts';
import { useUploadCheck, useUploadFile } from '../../queries/operations.ts';
import { countOf, nounOf, type SourceSelection } from './source.ts';

function uploadSelection(s: {
  uploading?: string;
  upload?: UploadedFile;
  check?: UploadCheck;
  mapping: ColumnMapping | null;
  checking: boolean;
  checkError: string | null;
  noun: string;
}): SourceSelection {
  const none = (message: string, blocked?: string): SourceSelection => ({
    count: null,
    summary: blocked ?? 'No file yet',
    ...(blocked ? { blocked } : {}),
    build: () => ({ issue: { path: 'upload', message } }),
    firstItem: async () => {
      throw new Error(message);
    },
  });
  const { upload, check, mapping } = s;
  if (s.uploading) return none('Wait for the upload to finish.', `Uploading ${s.uploading}…`);
  if (!upload) return none('Upload a CSV or Excel file first (or pick another source).');
  if (!check || !mapping)
    return none(
      'Wait for the check of the file to finish.',
      s.checkError ? 'The file could not be checked' : 'Checking the file…',
    );
  const rows = countOf(check.rowCount, nounOf(s.noun, 1));
  const base = {
    // What the batch gets once every row is valid (the estimate is for the whole file).
    count: check.rowCount,
    build: () => ({ source: { upload: { id: upload.id, mapping } } }),
    firstItem: async () => {
      if (check.sample.length === 0) throw new Error('the file has no valid row to try');
      return check.sample[0];
    },
  };
  if (s.checking) return { ...base, summary: `${rows} from ${upload.filename}`, blocked: 'Checking the mapping…' };
  if (check.invalid > 0)
    return {
      ...base,
      summary: `${rows} from ${upload.filename}`,
      blocked: `${countOf(check.invalid, 'row')} with errors: fix the mapping or the file`,
    };
  if (check.valid === 0)
    return { ...base, summary: `No rows in ${upload.filename}`, blocked: 'The file has no rows to run' };
  return { ...base, summary: `Selected: ${rows} from ${upload.filename}` };
}

export function useUploadSource(pipeline: string, noun: string, onChange: (s: SourceSelection) => void) {
  const send = useUploadFile();
  const upload = send.data;
  /** The mapping asked for; null: the API suggests one. */
  const [requested, setRequested] = useState<ColumnMapping | null>(null);
  const checkQuery = useUploadCheck(upload?.id, pipeline, requested);
  /** The last check answered for this file: it stays shown while a new mapping is checked, and if that fails. */
  const [lastCheck, setLastCheck] = useState<UploadCheck | undefined>(undefined);
  useEffect(() => {
    if (checkQuery.data) setLastCheck(checkQuery.data);
  }, [checkQuery.data]);
  const check = checkQuery.data ?? lastCheck;
  const checking = checkQuery.isFetching;
  const checkError = checkQuery.error ? errorMessage(checkQuery.error) : null;
  // The mapping the check answered with (the API's suggestion at first); the one asked for while it runs or after it failed.
  const mapping = checkQuery.data ? checkQuery.data.mapping : (requested ?? lastCheck?.mapping ?? null);

  const sendFile = (file: File, onSent: () => void) => {
    setRequested(null);
    setLastCheck(undefined);
    send.mutate(file, { onSettled: onSent });
  };
  const changeMapping = (field: string, column: string) => {
    if (!upload || !mapping) return;
    setRequested({ ...mapping, [field]: column === '' ? null : column });
  };

  const uploading = send.isPending ? send.variables.name : undefined;
  const selection = useMemo(
    () => uploadSelection({ uploading, upload, check, mapping, checking, checkError, noun }),
    [uploading, upload, check, mapping, checking, checkError, noun],
  );
  useEffect(() => onChange(selection), [selection, onChange]);

  return {
    uploading,
    upload,
    uploadError: send.error,
    check,
    checking,
    checkError,
    mapping,
    sendFile,
    changeMapping,
    retryCheck: () => void checkQuery.refetch(),
  };
}

export type UploadSourceState = ReturnType<typeof useUploadSource>;
