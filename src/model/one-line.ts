/**
 * One-line text for warnings and errors: input values (names, annotations, kinds) may hold line
 * breaks or other control characters, which would split a log line or forge a second one.
 *
 * @category models
 */

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators
// eslint-disable-next-line no-control-regex
const BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with every control character and line separator escaped (`\n`, `\u2028`); other text unchanged. */
export function oneLine(text: string): string {
  return text.replace(BREAKING, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
