// Plotly charts of downsampled curves: a band between each bucket's min and max.

export const COLORS = ["#1f4f8f", "#d1495b", "#2a9d8f", "#e9a23b", "#6a4c93", "#00798c",
  "#8d6e63", "#edae49"];

const CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "sendDataToCloud"] };

function layout(extra = {}) {
  return {
    margin: { l: 70, r: 20, t: 36, b: 44 },
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12,
      color: "#1b2330" },
    paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
    hovermode: "x unified",
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
    xaxis: { title: { text: "step" }, gridcolor: "#eef1f4", zeroline: false,
      separatethousands: true },
    yaxis: { gridcolor: "#eef1f4", zeroline: false, exponentformat: "e" },
    ...extra,
  };
}

/** Two traces: the bucket maxima, and the minima filled up to them (one when equal). */
export function band(x, ymin, ymax, { name, color, dash = "solid", group, legend = true }) {
  const line = { color, width: 2, dash };
  const same = ymin.every((v, i) => v === ymax[i]);
  const upper = { x, y: ymax, name, type: "scatter", mode: "lines", line,
    legendgroup: group || name, showlegend: legend, hovertemplate: "%{y:.4g}" };
  if (same) return [upper];
  const lower = { x, y: ymin, name: `${name} (min)`, type: "scatter", mode: "lines", line,
    fill: "tonexty", fillcolor: `${color}33`, legendgroup: group || name, showlegend: false,
    hovertemplate: "%{y:.4g}" };
  return [upper, lower];
}

/** The used part (steps up to ``progress``) solid, the planned rest dashed. */
export function usedAndPlanned(curve, key, group, progress, color, label) {
  const values = curve[key];
  if (!values) return [];
  const x = curve.steps;
  const ymin = values.min[group];
  const ymax = values.max[group];
  let cut = x.findIndex((s) => s > progress);
  if (cut < 0) cut = x.length;
  const traces = [];
  if (cut > 0) {
    traces.push(...band(x.slice(0, cut), ymin.slice(0, cut), ymax.slice(0, cut),
      { name: `${label} used`, color }));
  }
  if (cut < x.length) {
    const from = Math.max(cut - 1, 0);
    traces.push(...band(x.slice(from), ymin.slice(from), ymax.slice(from),
      { name: `${label} planned`, color: `${color}`, dash: "dot" }));
  }
  return traces;
}

/** Vertical marks: the progress line and each revision's boundary, annotated. */
export function marks(progress, revisions) {
  const shapes = [];
  const annotations = [];
  const vline = (x, color, dash) => ({ type: "line", xref: "x", yref: "paper", x0: x, x1: x,
    y0: 0, y1: 1, line: { color, width: 1.5, dash } });
  if (progress !== null && progress !== undefined) {
    shapes.push(vline(progress, "#d1495b", "solid"));
    annotations.push({ x: progress, y: 1, xref: "x", yref: "paper", yanchor: "top",
      xanchor: "left", text: ` progress ${Number(progress).toLocaleString("en-US")}`,
      showarrow: false, font: { color: "#d1495b", size: 11 }, bgcolor: "#ffffffcc" });
  }
  for (const r of revisions || []) {
    if (r.revision < 2) continue;
    shapes.push(vline(r.effective_step, "#6a4c93", "dash"));
    annotations.push({ x: r.effective_step, y: 0.88, xref: "x", yref: "paper",
      text: ` r${r.revision} from ${Number(r.effective_step).toLocaleString("en-US")}`,
      showarrow: false, xanchor: "left", bgcolor: "#ffffffcc",
      font: { color: "#6a4c93", size: 11 } });
  }
  return { shapes, annotations };
}

/** Draw (or redraw in place, without flicker) a chart. */
export function draw(el, traces, extra = {}) {
  return window.Plotly.react(el, traces, layout(extra), CONFIG);
}

export function release(el) {
  if (el && window.Plotly) window.Plotly.purge(el);
}
