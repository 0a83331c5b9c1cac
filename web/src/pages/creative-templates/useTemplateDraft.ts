/**
 * The new-template form's state: the canvas JSON (from a file or pasted), its name and page, the
 * preview drawn by the API before saving (with the placeholders the canvas uses), and the save.
 * The API judges the canvas; its 400 issues are shown with their paths.
 */
import { useState, type FormEvent } from 'react';
import type {
  CreativeTemplateRequest,
  CreativeTemplateView,
  PageSize,
  TemplatePage,
  TemplatePreview,
} from '../../api.ts';
import type { Flash } from '../../components.tsx';
import { useDraftPreview, useSaveCreativeTemplate } from '../../queries/creative-templates.ts';
import { parseCanvas, placeholdersOf } from './labels.ts';

/** A Fabric JSON file is read into the page; past this it is refused before it is sent. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface DraftPreviewShown {
  preview: TemplatePreview;
  placeholders: string[];
  /** The canvas text and page the preview was drawn from: changed since, it is marked stale. */
  of: string;
}

const draftKey = (text: string, page: TemplatePage) => `${page.size}|${page.orientation}|${text}`;
const nameFromFile = (fileName: string) =>
  fileName
    .replace(/\.json$/i, '')
    .replace(/[-_]+/g, ' ')
    .trim();

export function useTemplateDraft(onSaved: (t: CreativeTemplateView) => void) {
  const [name, setName] = useState('');
  const [size, setSize] = useState<PageSize>('A4');
  const [orientation, setOrientation] = useState<TemplatePage['orientation']>('portrait');
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const [shown, setShown] = useState<DraftPreviewShown | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);
  const draftPreview = useDraftPreview();
  const save = useSaveCreativeTemplate();
  const page: TemplatePage = { size, orientation };

  /** The request body, or null when the canvas is not a JSON object (the reason is shown). */
  const bodyOf = (canvasText: string, fallbackName: string): CreativeTemplateRequest | null => {
    const parsed = parseCanvas(canvasText);
    if ('error' in parsed) {
      setLocalError(parsed.error);
      return null;
    }
    setLocalError(null);
    return { name: name.trim() || fallbackName, format: 'fabric', canvas: parsed.canvas, page };
  };

  async function preview(canvasText = text, fallbackName = 'Draft') {
    save.reset();
    const body = bodyOf(canvasText, fallbackName);
    if (!body) return;
    try {
      const drawn = await draftPreview.mutateAsync(body);
      setShown({ preview: drawn, placeholders: placeholdersOf(body.canvas), of: draftKey(canvasText, page) });
    } catch {
      setShown(null); // the error is shown from the mutation
    }
  }

  async function takeFile(file: File | undefined) {
    if (!file) return;
    setFlash(null);
    if (file.size > MAX_FILE_BYTES)
      return setLocalError(
        `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; a template holds at most 8 MB.`,
      );
    const content = await file.text();
    setFileName(file.name);
    setText(content);
    if (!name.trim()) setName(nameFromFile(file.name));
    await preview(content, nameFromFile(file.name) || 'Draft');
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (save.isPending) return;
    setFlash(null);
    draftPreview.reset();
    if (!name.trim()) return setLocalError('Give the template a name.');
    const body = bodyOf(text, '');
    if (!body) return;
    try {
      const t = await save.mutateAsync(body);
      setFlash({ kind: 'ok', text: `Template "${t.name}" saved.` });
      setText('');
      setFileName(null);
      setName('');
      setShown(null);
      onSaved(t);
    } catch {
      // shown from the mutation's error
    }
  }

  return {
    name,
    setName,
    size,
    setSize,
    orientation,
    setOrientation,
    text,
    setText: (t: string) => {
      setText(t);
      setFileName(null);
    },
    fileName,
    localError,
    flash,
    shown,
    stale: shown !== null && shown.of !== draftKey(text, page),
    previewing: draftPreview.isPending,
    previewError: draftPreview.error,
    saving: save.isPending,
    saveError: save.error,
    preview: () => void preview(),
    takeFile: (f: File | undefined) => void takeFile(f),
    submit: (e: FormEvent) => void submit(e),
  };
}

export type TemplateDraft = ReturnType<typeof useTemplateDraft>;
