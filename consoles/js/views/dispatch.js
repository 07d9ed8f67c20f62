// 调度中心: incoming orders (受理) with the suggested category / unit / urgency; dispatch to the
// suggested or a chosen unit, re-dispatch returned orders (退单 reason visible), merge duplicates,
// confirm 办结 of orders the unit has answered.
import { clear, empty, h, orderBody, orderHead, run, section } from "../ui.js";
import { allUnits, unitName } from "../places.js";

function unitPicker(suggested) {
  const filter = h("input", { type: "search", placeholder: "输入单位名称或地名筛选，如：城关 派出所", "data-testid": "unit-filter" });
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
  refill();
  return { filter, select };
}

function incomingCard(o, api, reload) {
  const sug = o.suggestion || null;
  const sugName = h("strong", { "data-testid": "suggested-unit" }, sug ? sug.lead_unit_id : "无");
  if (sug) unitName(sug.lead_unit_id).then((n) => { sugName.textContent = n; });
  const picker = unitPicker(sug && sug.lead_unit_id);
  const returned = (o.returns || []).length > 0;
  const card = h("article", { class: `card order${returned ? " returned" : ""}`, "data-testid": "incoming-order", "data-order": o.id },
    orderHead(o),
    returned ? h("div", { class: "alert", "data-testid": "return-reason" },
      `退单（第${o.returns.length}次）：${o.return_reason || o.returns[o.returns.length - 1].reason}`) : null,
    o.needs_review ? h("div", { class: "alert" }, "分类需人工复核") : null,
    orderBody(o),
    h("div", { class: "suggestion" },
      h("div", {}, "系统建议承办：", sugName, sug && sug.reason ? h("span", { class: "note" }, `（${sug.reason}）`) : null),
      h("div", { class: "note" }, `建议分类：${o.category} / ${o.type}；紧急程度：${o.urgency}；来源：${o.classification_source === "classifier" ? "自动分类" : "人工填写"}`)),
    h("div", { class: "row actions" },
      sug ? h("button", { class: "primary", type: "button", "data-testid": "dispatch-suggested", onclick: (ev) =>
        run(ev.currentTarget, () => api.action(o.id, "dispatch", {
          unit_id: sug.lead_unit_id, co_unit_ids: sug.co_unit_ids || [], level: sug.level, reason: sug.reason,
          department: sug.department }), `已派单：${o.id}`).then((r) => r && reload()) }, "按建议派单") : null),
    h("details", { class: "picker" }, h("summary", {}, returned ? "改派其他单位" : "选择其他单位派单"),
      h("div", { class: "row" }, picker.filter, picker.select,
        h("button", { type: "button", "data-testid": "dispatch-chosen", onclick: (ev) => {
          const unit = picker.select.value;
          if (!unit) return;
          run(ev.currentTarget, () => api.action(o.id, "dispatch", { unit_id: unit, reason: returned ? "退单后改派" : "人工指定" }),
            `已派单：${o.id}`).then((r) => r && reload());
        } }, "派给所选单位"))),
    mergeBox(o, api, reload));
  return card;
}

function mergeBox(o, api, reload) {
  const master = h("input", { value: o.possible_duplicate_of || "", placeholder: "主工单号", "data-testid": "merge-master",
    inputmode: "numeric" });
  return h("details", { class: "picker", open: Boolean(o.possible_duplicate_of) },
    h("summary", {}, o.possible_duplicate_of
      ? `疑似重复：与 ${o.possible_duplicate_of} 相似度 ${Math.round((o.duplicate_score || 0) * 100)}%` : "并单（合并重复工单）"),
    h("div", { class: "row" }, master,
      h("button", { type: "button", "data-testid": "merge", onclick: (ev) => {
        const id = master.value.trim();
        if (!id) return;
        run(ev.currentTarget, () => api.action(o.id, "merge", { master_id: id }), `已并入 ${id}`).then((r) => r && reload());
      } }, "并入主工单")));
}

function repliedCard(o, api, reload) {
  return h("article", { class: "card order", "data-testid": "replied-order", "data-order": o.id },
    orderHead(o), orderBody(o),
    h("div", { class: "row actions" },
      h("button", { class: "primary", type: "button", "data-testid": "complete", onclick: (ev) =>
        run(ev.currentTarget, () => api.action(o.id, "complete"), `已办结：${o.id}`).then((r) => r && reload()) }, "确认办结")));
}

export async function render(root, { api }) {
  const incoming = h("div", { "data-testid": "incoming" });
  const replied = h("div", { "data-testid": "replied" });
  const counts = h("p", { class: "note", "data-testid": "dispatch-counts" });
  async function reload() {
    const [acc, rep] = await Promise.all([api.orders({ state: "accepted", limit: 100 }), api.orders({ state: "replied", limit: 100 })]);
    counts.textContent = `待派单 ${acc.total} 件；待确认办结 ${rep.total} 件`;
    clear(incoming, acc.items.length ? acc.items.map((o) => incomingCard(o, api, reload)) : empty("没有待派的工单。"));
    // 办结 is confirmed by the dispatch centre (dispatcher / supervisor / admin: all roles of this scene).
    clear(replied, rep.items.length ? rep.items.map((o) => repliedCard(o, api, reload)) : empty("没有待确认办结的工单。"));
  }
  root.append(h("h1", {}, "调度中心"), counts,
    h("div", { class: "row" }, h("button", { type: "button", "data-testid": "refresh", onclick: (ev) => run(ev.currentTarget, reload) }, "刷新")),
    section("待派单（受理）", incoming), section("单位已反馈，待确认办结", replied));
  await reload();
}
