// 调度中心: incoming orders (受理) with the suggested category / unit / urgency; dispatch to the
// suggested or a chosen unit, re-dispatch returned orders (退单 reason visible), merge duplicates,
// confirm 办结 of orders the unit has answered. The queue is sorted (特急 first, then returned, then
// by deadline), filtered and shown a page at a time; the unit directory is fetched once per load.
import { clear, confirmAction, empty, h, orderBody, orderHead, run, section } from "../ui.js";
import { allUnits, unitName } from "../places.js";

const PAGE = 10;
const URGENCY_RANK = { 特急: 0, 紧急: 1, 一般: 2 };

export function queueOrder(a, b) {
  const rank = (o) => [URGENCY_RANK[o.urgency] ?? 3, (o.returns || []).length ? 0 : 1, o.overdue ? 0 : 1];
  const ra = rank(a), rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  return String(a.deadline || "").localeCompare(String(b.deadline || "")) || String(a.id).localeCompare(String(b.id));
}

function unitPicker(suggested) {
  const filter = h("input", { type: "search", placeholder: "输入单位名称或地名筛选，如：城关 派出所", "data-testid": "unit-filter",
    "aria-label": "筛选承办单位" });
  const select = h("select", { "data-testid": "unit-select", "aria-label": "承办单位" });
  let seq = 0;
  async function refill() {
    const mine = ++seq;
    const words = filter.value.trim().split(/\s+/).filter(Boolean);
    const all = await allUnits();
    if (mine !== seq) return;  // a newer keystroke is being handled
    const keep = select.value || suggested;
    const units = all.filter((u) => words.every((w) => u.name.includes(w) || (u.township || "").includes(w)
      || (u.county || "").includes(w) || u.id === w));
    clear(select, units.slice(0, 80).map((u) => h("option", { value: u.id, selected: u.id === keep }, u.name)));
    if (!units.length) select.append(h("option", { value: "" }, "没有匹配的单位"));
  }
  filter.addEventListener("input", refill);
  return { filter, select, refill };
}

function incomingCard(o, api, reload) {
  const sug = o.suggestion || null;
  const sugName = h("strong", { "data-testid": "suggested-unit" }, sug ? "…" : "无");
  if (sug) unitName(sug.lead_unit_id).then((n) => { sugName.textContent = n; });
  const picker = unitPicker(sug && sug.lead_unit_id);
  const returned = (o.returns || []).length > 0;
  const details = h("details", { class: "picker" }, h("summary", {}, returned ? "改派其他单位" : "选择其他单位派单"),
    h("div", { class: "row" }, picker.filter, picker.select,
      h("button", { type: "button", "data-testid": "dispatch-chosen", onclick: async (ev) => {
        const btn = ev.currentTarget;
        const unit = picker.select.value;
        if (!unit) return;
        const name = picker.select.selectedOptions[0]?.textContent || unit;
        if (!await confirmAction("派单", `把工单 ${o.id} 派给「${name}」？`, "派单")) return;
        run(btn, () => api.action(o.id, "dispatch", { unit_id: unit, reason: returned ? "退单后改派" : "人工指定" }),
          `已派单：${o.id}`).then((r) => r && reload());
      } }, "派给所选单位")));
  details.addEventListener("toggle", () => { if (details.open && !picker.select.options.length) picker.refill(); });
  return h("article", { class: `card order${returned ? " returned" : ""}`, "data-testid": "incoming-order", "data-order": o.id,
    "data-urgency": o.urgency },
    orderHead(o),
    returned ? h("div", { class: "alert", "data-testid": "return-reason" },
      `退单（第${o.returns.length}次）：${o.return_reason || o.returns[o.returns.length - 1].reason}`) : null,
    o.needs_review ? h("div", { class: "alert" }, "分类需人工复核") : null,
    orderBody(o),
    h("div", { class: "suggestion" },
      h("div", {}, "系统建议承办：", sugName, sug && sug.reason ? h("span", { class: "note" }, `（${sug.reason}）`) : null),
      h("div", { class: "note" }, `建议分类：${o.category} / ${o.type}；紧急程度：${o.urgency}；来源：${o.classification_source === "classifier" ? "自动分类" : "人工填写"}`),
      reasonsBlock(o)),
    h("div", { class: "row actions" },
      sug ? h("button", { class: "primary", type: "button", "data-testid": "dispatch-suggested", onclick: async (ev) => {
        const btn = ev.currentTarget;
        if (!await confirmAction("按建议派单", `把工单 ${o.id} 派给「${sugName.textContent}」？`, "派单")) return;
        run(btn, () => api.action(o.id, "dispatch", {
          unit_id: sug.lead_unit_id, co_unit_ids: sug.co_unit_ids || [], level: sug.level, reason: sug.reason,
          department: sug.department }), `已派单：${o.id}`).then((r) => r && reload());
      } }, "按建议派单") : null),
    details,
    mergeBox(o, api, reload));
}

function mergeBox(o, api, reload) {
  const master = h("input", { value: o.possible_duplicate_of || "", placeholder: "主工单号", "data-testid": "merge-master",
    inputmode: "numeric", "aria-label": "主工单号" });
  return h("details", { class: "picker", open: Boolean(o.possible_duplicate_of) },
    h("summary", {}, o.possible_duplicate_of
      ? `疑似重复：与 ${o.possible_duplicate_of} 相似度 ${Math.round((o.duplicate_score || 0) * 100)}%` : "并单（合并重复工单）"),
    h("div", { class: "row" }, master,
      h("button", { type: "button", "data-testid": "merge", onclick: async (ev) => {
        const btn = ev.currentTarget;
        const id = master.value.trim();
        if (!id) return;
        if (!await confirmAction("并入主工单", `把工单 ${o.id} 并入主工单 ${id}？并单后本工单不再单独办理，由主工单一并答复。`, "并单")) return;
        run(btn, () => api.action(o.id, "merge", { master_id: id }), `已并入 ${id}`).then((r) => r && reload());
      } }, "并入主工单")));
}

// Why the classifier decided each field (the order's classification_reasons, Chinese, masked).
const REASON_LABELS = { category: "分类", type: "类型", urgency: "紧急程度", department: "承办部门", emergency: "紧急警情" };
function reasonsBlock(o) {
  const r = o.classification_reasons || {};
  const keys = Object.keys(REASON_LABELS).filter((k) => r[k]);
  if (!keys.length && !(o.review_reasons || []).length) return null;
  return h("details", { class: "reasons", "data-testid": "classification-reasons" }, h("summary", {}, "分类依据"),
    ...keys.map((k) => h("div", { class: "note" }, `${REASON_LABELS[k]}：${r[k]}`)),
    ...(o.review_reasons || []).map((x) => h("div", { class: "note" }, `请复核：${x}`)));
}

function repliedCard(o, api, reload) {
  return h("article", { class: "card order", "data-testid": "replied-order", "data-order": o.id },
    orderHead(o), orderBody(o),
    h("div", { class: "row actions" },
      h("button", { class: "primary", type: "button", "data-testid": "complete", onclick: async (ev) => {
        const btn = ev.currentTarget;
        if (!await confirmAction("确认办结", `确认工单 ${o.id} 已办结？单位答复：${o.reply || "—"}`, "确认办结")) return;
        run(btn, () => api.action(o.id, "complete"), `已办结：${o.id}`).then((r) => r && reload());
      } }, "确认办结")));
}

// A sorted, filtered list shown PAGE cards at a time.
function pagedList(testid, makeCard, emptyText) {
  const box = h("div", { "data-testid": testid });
  const more = h("button", { type: "button", "data-testid": `${testid}-more` });
  let items = [], shown = PAGE;
  function draw() {
    if (!items.length) { clear(box, empty(emptyText)); return; }
    const visible = items.slice(0, shown);
    more.textContent = `再显示${Math.min(PAGE, items.length - shown)}件（共${items.length}件，已显示${visible.length}件）`;
    clear(box, visible.map(makeCard), items.length > shown ? h("div", { class: "row" }, more) : null);
  }
  more.addEventListener("click", () => { shown += PAGE; draw(); });
  return { el: box, set(list, keepPage = false) { items = list; if (!keepPage) shown = PAGE; draw(); } };
}

export async function render(root, { api }) {
  const counts = h("p", { class: "note", "data-testid": "dispatch-counts" });
  const urgency = h("select", { "data-testid": "queue-urgency" }, h("option", { value: "" }, "全部"),
    ["特急", "紧急", "一般"].map((u) => h("option", { value: u }, u)));
  const kind = h("select", { "data-testid": "queue-kind" }, h("option", { value: "" }, "全部工单"),
    h("option", { value: "returned" }, "只看退单"), h("option", { value: "duplicate" }, "只看疑似重复"),
    h("option", { value: "review" }, "只看需人工复核"));
  const words = h("input", { type: "search", "data-testid": "queue-search", placeholder: "工单号、标题或地名" });
  let incomingAll = [];
  const reloadAll = () => reload();
  const incoming = pagedList("incoming", (o) => incomingCard(o, api, reloadAll), "没有待派的工单。");
  const replied = pagedList("replied", (o) => repliedCard(o, api, reloadAll), "没有待确认办结的工单。");

  let repliedAll = [];
  function applyFilter(keepPage = false) {
    const w = words.value.trim();
    const said = (o) => !w || [o.id, o.title, o.text, ...Object.values(o.place || {})].some((x) => String(x || "").includes(w));
    incoming.set(incomingAll.filter((o) => (!urgency.value || o.urgency === urgency.value)
      && (kind.value !== "returned" || (o.returns || []).length)
      && (kind.value !== "duplicate" || o.possible_duplicate_of)
      && (kind.value !== "review" || o.needs_review) && said(o)), keepPage);
    replied.set(repliedAll.filter(said), keepPage);
  }
  for (const el of [urgency, kind]) el.addEventListener("change", () => applyFilter());
  words.addEventListener("input", () => applyFilter());

  async function reload() {
    const [acc, rep] = await Promise.all([api.orders({ action: "dispatch", limit: 500 }), api.orders({ action: "complete", limit: 500 })]);
    const urgent = acc.items.filter((o) => o.urgency === "特急").length;
    counts.textContent = `待派单 ${acc.total} 件（特急 ${urgent} 件）；待确认办结 ${rep.total} 件`;
    incomingAll = acc.items.sort(queueOrder);
    // 办结 is confirmed by the dispatch centre (dispatcher / supervisor / admin: all roles of this scene).
    repliedAll = rep.items.sort((a, b) => String(a.replied_at || "").localeCompare(String(b.replied_at || "")));
    applyFilter(true);
  }
  root.append(h("h1", {}, "调度中心"), counts,
    h("div", { class: "row filters" },
      h("button", { type: "button", "data-testid": "refresh", onclick: (ev) => run(ev.currentTarget, reload) }, "刷新"),
      h("label", { class: "grow" }, "查找工单 ", words)),
    section("待派单（受理）",
      h("p", { class: "note" }, "排序：特急在前，其次退单、已超期，再按办理期限。"),
      h("div", { class: "row filters" }, h("label", {}, "紧急程度 ", urgency), h("label", {}, "类型 ", kind)),
      incoming.el),
    section("单位已反馈，待确认办结", replied.el));
  allUnits().catch(() => null);  // one directory request per load, shared by every card
  await reload();
}
