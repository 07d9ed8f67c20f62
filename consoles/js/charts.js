// Small inline-SVG charts (no libraries): horizontal bars and weekly lines.
const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#0b5cad", "#b3261e", "#1b7f3b", "#8a4b00", "#6b3fa0", "#00697a"];

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// rows: [{label, value, display?, flag?}] ; value in [0, max]
export function barChart(rows, { title = "", max = null, width = 640, rowHeight = 34, format = (v) => v } = {}) {
  const top = max ?? Math.max(1, ...rows.map((r) => r.value || 0));
  const labelW = 190, valueW = 80, barW = width - labelW - valueW;
  const height = rows.length * rowHeight + 8;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart" });
  svg.append(s("title", {}, title));
  rows.forEach((r, i) => {
    const y = i * rowHeight + 4;
    const w = Math.max(0, ((r.value || 0) / top) * barW);
    const label = r.label.length > 11 ? `${r.label.slice(0, 10)}…` : r.label;
    svg.append(s("text", { x: labelW - 8, y: y + rowHeight * 0.62, "text-anchor": "end", class: "chart-label" }, label));
    svg.append(s("rect", { x: labelW, y: y + 4, width: w, height: rowHeight - 10, rx: 3,
      fill: r.flag ? "#b3261e" : "#0b5cad" }));
    svg.append(s("text", { x: labelW + w + 6, y: y + rowHeight * 0.62, class: "chart-value" },
      r.display ?? format(r.value)));
  });
  return svg;
}

// series: [{label, values: [..]}], xs: labels
export function lineChart(series, xs, { title = "", width = 640, height = 260 } = {}) {
  const pad = { l: 40, r: 16, t: 16, b: 48 };
  const top = Math.max(1, ...series.flatMap((x) => x.values));
  const iw = width - pad.l - pad.r, ih = height - pad.t - pad.b;
  const X = (i) => pad.l + (xs.length > 1 ? (i * iw) / (xs.length - 1) : iw / 2);
  const Y = (v) => pad.t + ih - (v / top) * ih;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart" });
  svg.append(s("title", {}, title));
  for (let k = 0; k <= 4; k++) {
    const v = Math.round((top * k) / 4);
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), stroke: "#d0d4da" }));
    svg.append(s("text", { x: pad.l - 6, y: Y(v) + 5, "text-anchor": "end", class: "chart-axis" }, v));
  }
  xs.forEach((x, i) => {
    if (xs.length > 6 && i % 2 === 1 && i !== xs.length - 1) return;
    svg.append(s("text", { x: X(i), y: height - pad.b + 22, "text-anchor": "middle", class: "chart-axis" },
      x.replace(/^\d{4}-/, "")));
  });
  series.forEach((ser, n) => {
    const color = PALETTE[n % PALETTE.length];
    const d = ser.values.map((v, i) => `${i ? "L" : "M"}${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    svg.append(s("path", { d, fill: "none", stroke: color, "stroke-width": 3 }));
    ser.values.forEach((v, i) => svg.append(s("circle", { cx: X(i), cy: Y(v), r: 4, fill: color })));
  });
  return svg;
}

export function legend(series) {
  const ul = document.createElement("ul");
  ul.className = "legend";
  series.forEach((ser, n) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = PALETTE[n % PALETTE.length];
    li.append(sw, document.createTextNode(ser.label));
    ul.append(li);
  });
  return ul;
}
