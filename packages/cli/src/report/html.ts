/**
 * The report page and its parts: one self-contained HTML file (inline CSS
 * and SVG, no scripts, nothing loaded from the network). The demo report and
 * `gradclip report` are built from the same parts: verdict cards first, then
 * sections that each hold a plot, a table or a few sentences.
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 24px auto; max-width: 1080px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 2px; } .lead { color: #444; margin: 0 0 14px; }
h2 { font-size: 17px; margin: 30px 0 4px; border-top: 1px solid #ddd; padding-top: 14px; }
h3 { font-size: 14px; margin: 16px 0 2px; }
p { margin: 6px 0; max-width: 920px; } p.note { color: #555; } p.empty { color: #8a5a00; background: #fff8e1; padding: 8px 12px; }
.verdict .more { font-size: 13.5px; color: #333; } .verdict { font-size: 15px; background: #f4f6fa; border-left: 4px solid #1f77b4; padding: 10px 14px; margin: 8px 0 12px; max-width: 1000px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 6px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; min-width: 118px; max-width: 230px; background: #fff; }
.card .big { font-size: 24px; font-weight: 650; line-height: 1.15; } .card .name { font-weight: 600; } .card .sub { color: #555; font-size: 12px; }
.card.good { border-color: #a5d6a7; background: #f1f8f1; } .card.good .big { color: #2e7d32; }
.card.bad { border-color: #ef9a9a; background: #fdf1f1; } .card.bad .big { color: #c62828; }
.card.mixed { border-color: #ffcc80; background: #fff7ec; } .card.mixed .big { color: #e65100; }
.plot { margin: 6px 0; } .plot svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; vertical-align: top; } th { background: #f4f4f6; }
td:first-child, th:first-child { text-align: left; } td.text, th.text { text-align: left; max-width: 560px; }
td.good { color: #2e7d32; font-weight: 600; } td.bad { color: #c62828; font-weight: 600; } td.mixed { color: #e65100; font-weight: 600; }
code, pre { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; } pre { background: #f6f6f8; padding: 8px 12px; overflow-x: auto; }
`;

/** One verdict card: a big figure ("8/8"), a name and one line under it. */
export interface Card {
  name: string;
  big: string;
  sub: string;
  tone: "good" | "bad" | "mixed" | "neutral";
}

/** A table cell: text, or text with a tone and/or left alignment. */
export type Cell = string | { text: string; tone?: "good" | "bad" | "mixed"; wrap?: boolean };

/** A part of the page, already HTML. */
export type Part = string;

/** The verdict sentence(s) and the cards. */
export function verdictPart(verdict: string, cards: readonly Card[], headline?: string): Part {
  const cardHtml = cards
    .map(
      (c) =>
        `<div class="card${c.tone === "neutral" ? "" : ` ${c.tone}`}"><div class="name">${escapeHtml(c.name)}</div><div class="big">${escapeHtml(c.big)}</div><div class="sub">${escapeHtml(c.sub)}</div></div>`,
    )
    .join("\n");
  const rest = headline && verdict.startsWith(headline) ? verdict.slice(headline.length).trim() : verdict;
  const text = headline
    ? `<strong>${escapeHtml(headline)}</strong>${rest ? `<br><span class="more">${escapeHtml(rest)}</span>` : ""}`
    : escapeHtml(verdict);
  return `<section id="verdict">\n<p class="verdict">${text}</p>\n<div class="cards">\n${cardHtml}\n</div>\n</section>`;
}

/** A titled section with an id (for tests and links) and its parts. */
export function section(id: string, title: string, parts: readonly Part[]): Part {
  return `<section id="${escapeHtml(id)}">\n<h2>${escapeHtml(title)}</h2>\n${parts.join("\n")}\n</section>`;
}

export function paragraph(text: string, cls?: "note" | "empty"): Part {
  return `<p${cls ? ` class="${cls}"` : ""}>${escapeHtml(text)}</p>`;
}

export function heading(text: string): Part {
  return `<h3>${escapeHtml(text)}</h3>`;
}

/** An SVG plot with a plain-text description (for screen readers and text search). */
export function plot(svg: string, description: string): Part {
  return `<figure class="plot" role="img" aria-label="${escapeHtml(description)}">${svg}</figure>`;
}

export function pre(text: string): Part {
  return `<pre>${escapeHtml(text)}</pre>`;
}

export function table(
  columns: readonly string[],
  rows: readonly (readonly Cell[])[],
  textColumns: readonly number[] = [],
): Part {
  const head = `<tr>${columns.map((c, i) => `<th${textColumns.includes(i) ? ' class="text"' : ""}>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((cell, i) => {
            const c = typeof cell === "string" ? { text: cell } : cell;
            const cls = [c.tone, textColumns.includes(i) || c.wrap ? "text" : undefined].filter(Boolean).join(" ");
            return `<td${cls ? ` class="${cls}"` : ""}>${escapeHtml(c.text)}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  return `<table>\n${head}\n${body}\n</table>`;
}

/** The whole page. */
export function page(title: string, lead: string, parts: readonly Part[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="lead">${escapeHtml(lead)}</p>
${parts.join("\n")}
</body></html>
`;
}
