// 数智分析: KPIs by unit / department and period (GET /api/kpi), hot spots with rising trends
// (GET /api/hotspots), weekly trends, CSV export (?format=csv). Numbers come only from the API.
import { clear, empty, h, pct, run, section, toast } from "../ui.js";
import { barChart, legend, lineChart } from "../charts.js";

const DIM_LABELS = { category: "分类", matter: "事项", township: "乡镇", village: "村（社区）" };
const COUNT_LABELS = [["dispatched", "派单"], ["signed", "签收"], ["replied", "反馈"], ["completed", "办结"],
  ["called_back", "回访"], ["on_time", "按时办结"], ["rated", "评价"], ["satisfied", "满意"]];
const RATE_KEYS = ["sign_rate", "reply_rate", "completion_rate", "on_time_rate", "callback_rate", "quality_rate", "satisfaction_rate"];

function periodRange(value) {
  const now = new Date();
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  if (value === "month") return { since: iso(new Date(now.getFullYear(), now.getMonth(), 1)) };
  if (value === "30" || value === "90") return { since: iso(new Date(now.getTime() - Number(value) * 86400000)) };
  return {};
}

// ISO week "2026-W45" -> "11/2起" (its Monday), for people.
export function weekLabel(week) {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) return week;
  const jan4 = new Date(Date.UTC(Number(m[1]), 0, 4));
  const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86400000 + (Number(m[2]) - 1) * 7 * 86400000);
  return `${monday.getUTCMonth() + 1}/${monday.getUTCDate()}起`;
}

export async function render(root, { api, user }) {
  const handler = user.role === "unit_handler";
  const groupBy = h("select", { "data-testid": "kpi-group" }, h("option", { value: "unit" }, "按单位"),
    h("option", { value: "department" }, "按部门"));
  const period = h("select", { "data-testid": "kpi-period" }, h("option", { value: "all" }, "全部"),
    h("option", { value: "month" }, "本月"), h("option", { value: "30" }, "近30天"), h("option", { value: "90" }, "近90天"));
  const kpiBox = h("div", { "data-testid": "kpi" });
  const hotBox = h("div", { "data-testid": "hotspots" });

  async function loadKpi() {
    const report = await api.kpi({ group_by: groupBy.value, ...periodRange(period.value) });
    const defs = report.definitions;
    if (!report.rows.length) { clear(kpiBox, empty("该时段没有派单的工单。")); return; }
    const totals = Object.fromEntries(COUNT_LABELS.map(([k]) => [k, report.rows.reduce((s, r) => s + (r.counts[k] || 0), 0)]));
    const tiles = h("div", { class: "tiles" }, COUNT_LABELS.slice(0, 4).map(([k, label]) =>
      h("div", { class: "tile", "data-testid": `tile-${k}` }, h("div", { class: "tile-num" }, String(totals[k])), h("div", {}, `${label}（件）`))));
    const chart = barChart(report.rows.map((r) => ({ label: r.name || r.key, value: r.completion_rate ?? 0,
      display: pct(r.completion_rate) })), { title: groupBy.value === "unit" ? "各单位办结率" : "各部门办结率", max: 1 });
    const table = h("table", { class: "data", "data-testid": "kpi-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, groupBy.value === "unit" ? "单位" : "部门"),
        COUNT_LABELS.slice(0, 4).map(([, l]) => h("th", { scope: "col" }, l)),
        RATE_KEYS.map((k) => h("th", { scope: "col" }, defs[k] || k)))),
      h("tbody", {}, report.rows.map((r) => h("tr", { "data-key": r.key, "data-testid": "kpi-row" },
        h("th", { scope: "row" }, r.name || r.key),
        COUNT_LABELS.slice(0, 4).map(([k]) => h("td", { "data-count": k }, String(r.counts[k] ?? 0))),
        RATE_KEYS.map((k) => h("td", { "data-rate": k }, pct(r[k])))))));
    clear(kpiBox, tiles, h("h3", {}, "办结率"), h("div", { class: "chart-wrap" }, chart),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "考核指标表（可左右滚动）" }, table));
  }

  async function loadHotspots() {
    const rep = await api.hotspots(8);
    const matterNames = new Map(await Promise.all((rep.by.matter || []).slice(0, 10).map((r) =>
      api.matter(r.key).then((m) => [r.key, m.name]).catch(() => [r.key, r.key]))));
    const keyLabel = (dim, key) => (dim === "matter" ? matterNames.get(key) || key : key);
    const rising = rep.rising.length
      ? h("ul", { class: "rising", "data-testid": "rising" }, rep.rising.map((r) =>
        h("li", {}, h("span", { class: "tag danger" }, "上升"), `${DIM_LABELS[r.dimension]}「${keyLabel(r.dimension, r.key)}」本周 ${r.this_week} 件，前4周均值 ${r.baseline_mean}`)))
      : h("p", { class: "note", "data-testid": "rising" }, `本周没有明显上升的热点（规则：${rep.rule}）。`);
    const cats = rep.by.category || [];
    const top = cats.slice(0, 4);
    const series = top.map((r) => ({ label: r.key, values: rep.weeks.map((w) => r.weeks[w] || 0) }));
    const dims = Object.keys(DIM_LABELS).map((dim) => {
      const rows = (rep.by[dim] || []).slice(0, 10);
      return h("div", { class: "hot-dim" }, h("h3", {}, `按${DIM_LABELS[dim]}（前10）`),
        rows.length ? h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `按${DIM_LABELS[dim]}的热点表` }, h("table", { class: "data", "data-testid": `hot-table-${dim}` },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, DIM_LABELS[dim]), h("th", { scope: "col" }, "合计"),
            h("th", { scope: "col" }, "本周"), h("th", { scope: "col" }, "前4周均值"), h("th", { scope: "col" }, "趋势"))),
          h("tbody", {}, rows.map((r) => h("tr", { class: r.rising ? "rising-row" : "" },
            h("th", { scope: "row", "data-key": r.key }, keyLabel(dim, r.key)), h("td", {}, String(r.total)), h("td", {}, String(r.this_week)),
            h("td", {}, String(r.baseline_mean)), h("td", {}, r.rising ? h("span", { class: "tag danger" }, "上升") : "平稳"))))))
          : empty("暂无数据。"));
    });
    clear(hotBox, rising,
      h("div", { class: "charts" },
        h("div", { class: "chart-wrap" }, h("h3", {}, "各分类工单量（近8周，红色为上升）"),
          cats.length ? barChart(cats.map((r) => ({ label: r.key, value: r.total, flag: r.rising })), { title: "各分类工单量" }) : empty("暂无数据。")),
        h("div", { class: "chart-wrap" }, h("h3", {}, "每周趋势（前4个分类）"),
          series.length ? [lineChart(series, rep.weeks.map(weekLabel), { title: "每周工单量趋势" }), legend(series)] : empty("暂无数据。"))),
      h("div", { class: "hot-dims" }, dims));
  }

  async function exportCsv(ev) {
    await run(ev.currentTarget, async () => {
      const resp = await api.hotspotsCsv(8);
      const blob = await resp.blob();
      const a = h("a", { href: URL.createObjectURL(blob), download: "hotspots.csv" });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      toast("已导出 hotspots.csv", "ok");
    });
  }

  groupBy.addEventListener("change", () => run(null, loadKpi));
  period.addEventListener("change", () => run(null, loadKpi));
  root.append(h("h1", {}, "数智分析"),
    section(handler ? "本单位考核指标" : "考核指标",
      h("div", { class: "row" }, h("label", {}, "统计方式 ", groupBy), h("label", {}, "时段 ", period)), kpiBox));
  if (!handler) {
    root.append(section("热点与趋势",
      h("div", { class: "row" }, h("button", { type: "button", "data-testid": "export-csv", onclick: exportCsv }, "导出CSV")), hotBox));
  }
  await Promise.all([run(null, loadKpi), handler ? null : run(null, loadHotspots)]);
}
