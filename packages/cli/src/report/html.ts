/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no
 * scripts, nothing loaded from the network).
 */
import type { ReportModel } from "./model.js";
import { eventSpec, hasEvents, lossSpec, normSpec, renderSvg } from "./plots.js";

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 24px auto; max-width: 1060px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 2px; border-top: 1px solid #ddd; padding-top: 14px; }
p.desc { color: #555; margin: 0 0 8px; } p.empty { color: #8a5a00; background: #fff8e1; padding: 8px 12px; } .intro p { margin: 6px 0; max-width: 900px; }
.row { display: flex; flex-wrap: wrap; gap: 8px; } .row svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 10px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; } th { background: #f4f4f6; }
td:first-child, th:first-child { text-align: left; } td.bad { color: #c62828; font-weight: 600; } td.good { color: #2e7d32; }
`;

function tableHtml(t: ReportModel["table"]): string {
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const cls = (v: string) => (v.startsWith("yes") ? ' class="bad"' : v === "no" ? ' class="good"' : "");
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td${cls(v)}>${escapeHtml(v)}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n${head}\n${body}\n</table>`;
}

/** Renders the whole report to an HTML string (plots drawn by vega-lite/vega). */
export async function renderReport(model: ReportModel): Promise<string> {
  const sections: string[] = [];
  for (const g of model.groups) {
    if (g.runs.every((r) => r.history.records.length === 0)) {
      // Axes with nothing on them read as a broken page; say what is (not) there instead.
      sections.push(
        `<section>\n<h2>${escapeHtml(g.name)}</h2>\n<p class="desc">${escapeHtml(g.description)}</p>\n` +
          `<p class="empty">No records: the history holds no steps to plot.</p>\n</section>`,
      );
      continue;
    }
    const [loss, norm, events] = await Promise.all([
      renderSvg(lossSpec(g)), renderSvg(normSpec(g)),
      hasEvents(g)
        ? renderSvg(eventSpec(g))
        : Promise.resolve('<p class="desc">No clipped, skipped or non-finite steps.</p>'),
    ]);
    sections.push(
      `<section>\n<h2>${escapeHtml(g.name)}</h2>\n<p class="desc">${escapeHtml(g.description)}</p>\n` +
        `<div class="row">${loss}${norm}</div>\n<div class="row">${events}</div>\n</section>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(model.title)}</h1>
<div class="intro">${model.intro.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n")}</div>
<h2>Summary</h2>
${tableHtml(model.table)}
${sections.join("\n")}
</body></html>
`;
}
