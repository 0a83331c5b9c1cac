/**
 * `{{column}}` prompt templates over CSV rows. Parsed once at batch creation (the settings
 * schema rejects a template that is malformed or uses no column at all) and rendered per row
 * (a row without a column the template names fails with a ValidationError that names it).
 */

/** `{{ name }}`: any characters but braces and line breaks, spaces around the name ignored. */
const PLACEHOLDER = /\{\{\s*([^{}\r\n]+?)\s*\}\}/g;

export interface TemplateProblem {
  message: string;
}

/** The column names a template uses, in order of first use. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** What is wrong with a template (empty: usable). */
export function templateProblems(template: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const rest = template.replace(PLACEHOLDER, '');
  if (/\{\{|\}\}/.test(rest)) problems.push({ message: 'promptTemplate has an unclosed or empty {{placeholder}}' });
  if (placeholders(template).length === 0) {
    problems.push({
      message:
        'promptTemplate must use at least one {{column}} of the CSV (e.g. {{question}}); otherwise every row sends the same prompt',
    });
  }
  return problems;
}

export type Row = Record<string, unknown>;

/** The row's column for a placeholder: exact name first, then the one column equal ignoring case. */
function columnOf(row: Row, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(row, name)) return name;
  const folded = Object.keys(row).filter((k) => k.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : String(value);
}

/**
 * Renders the template for a row, or names the columns the row lacks. Values are inserted as
 * they are (one pass, so a value containing `{{x}}` is not expanded again).
 */
export function renderTemplate(template: string, row: Row): { prompt: string; missing: string[] } {
  const missing: string[] = [];
  const prompt = template.replace(PLACEHOLDER, (_whole, name: string) => {
    const col = columnOf(row, name);
    if (col === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    return cellText(row[col]);
  });
  return { prompt, missing };
}
