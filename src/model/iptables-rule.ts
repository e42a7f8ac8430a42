/**
 * Canonical text of iptables rule arguments, shared by renderers (which build argv arrays)
 * and the iptables-save parser, so desired and observed rules compare as strings.
 *
 * Canonical form = `ruleText(ruleTokens(saved))` of what iptables-save prints: tokens joined
 * by one space, a token quoted with double quotes only when it is empty or contains whitespace
 * or a quote (embedded `"` and `\` backslash-escaped). iptables-save itself quotes more
 * (any comment with characters outside [A-Za-z0-9_-]); the parser normalises that away.
 * The shapes iptables-save rewrites (`-p tcp -m tcp --dport`, `/32`, …) are catalogued in
 * src/apply/iptables/canonical.ts; renderers emit the saved shape.
 *
 * @category models
 */

/** Formats argv tokens as canonical rule text. */
export function ruleText(args: readonly string[]): string {
  return args.map(quoteToken).join(" ");
}

function quoteToken(t: string): string {
  if (t !== "" && !/[\s"'\\]/.test(t)) return t;
  return `"${t.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Splits rule text into argv tokens, honouring double quotes and backslash escapes.
 * Throws `Error("unterminated quote in rule: …")` on malformed input.
 */
export function ruleTokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let tok = "";
    while (i < text.length && !/\s/.test(text[i]!)) {
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < text.length) i++;
          tok += text[i];
          i++;
        }
        if (i >= text.length) throw new Error(`unterminated quote in rule: ${text}`);
        i++;
      } else {
        tok += ch;
        i++;
      }
    }
    out.push(tok);
  }
  return out;
}

/** The value of `--comment` in a rule's text, or undefined. */
export function ruleComment(text: string): string | undefined {
  const t = ruleTokens(text);
  const i = t.indexOf("--comment");
  return i >= 0 ? t[i + 1] : undefined;
}
