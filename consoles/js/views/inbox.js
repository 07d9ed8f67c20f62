// 本单位工单 (unit inbox): the API returns only this unit's orders. Sign for, start handling, reply
// (反馈办结 — the dispatcher then confirms 办结), request an extension, return with a reason.
import { clear, empty, fmtTime, h, orderBody, orderHead, prompt, run, section } from "../ui.js";

// The states and their labels are the API's (workorders/model.py): this view names none of them, so a new
// state shows up here as a group with its own label, in the state machine's order (state_rank).

function actionButtons(o, api, reload) {
  const act = (label, action, testid, { primary = false, ask = null } = {}) =>
    h("button", { type: "button", class: primary ? "primary" : "", "data-testid": testid, onclick: async (ev) => {
      const btn = ev.currentTarget;
      let body = {};
      if (ask) {
        const text = await prompt(ask.title, ask.label, { minLength: 2, placeholder: ask.placeholder || "" });
        if (!text) return;
        body = { [ask.field]: text };
      }
      const res = await run(btn, () => api.action(o.id, action, body), `${label}成功：${o.id}`);
      if (res) reload();
    } }, label);
  // The buttons are the order's `actions` (the state machine, the order's history, role and unit decide on
  // the server); this table only says how a unit's action looks, in the order shown.
  const UI = [
    ["sign", () => act("签收", "sign", "sign", { primary: true })],
    ["start", () => act("开始办理", "start", "start", { primary: true })],
    ["reply", () => act("反馈办结", "reply", "reply", { primary: true, ask: { title: "反馈办理结果", label: "答复内容（回复给居民）",
      field: "reply", placeholder: "例如：已为居民受理补领，新证60日内寄出" } })],
    ["return", () => act("退单", "return", "return", { ask: { title: "退单", label: "退单理由（派单中心会看到）", field: "reason",
      placeholder: "例如：不属于本单位职责，应由……办理" } })],
    ["request_extension", () => act("申请延期", "request_extension", "request-extension",
      { ask: { title: "申请延期", label: "延期理由", field: "reason" } })],
  ];
  const allowed = new Set(o.actions || []);
  return h("div", { class: "row actions" }, UI.filter(([a]) => allowed.has(a)).map(([, make]) => make()));
}

function lastSupervision(e) {
  return h("div", { class: "alert", "data-testid": "supervision-note" },
    `${e.kind === "warn" ? "临期预警" : "督办意见"}：${e.note || "请尽快办理并反馈"}`);
}

function card(o, api, reload) {
  const ext = o.extension_request;
  return h("article", { class: "card order", "data-testid": "unit-order", "data-order": o.id, "data-state": o.state },
    orderHead(o),
    o.sign_deadline && !o.signed_at ? h("p", { class: "note" }, `签收期限：${fmtTime(o.sign_deadline)}`) : null,
    ext ? h("p", { class: ext.status === "refused" ? "alert" : "note", "data-testid": "extension" },
      `延期申请：${{ pending: "审批中", approved: "已批准", refused: "已驳回" }[ext.status] || ext.status}（申请理由：${ext.reason}）`,
      ext.note ? `；督办员意见：${ext.note}` : "") : null,
    o.reopen_reason && !o.replied_at ? h("div", { class: "alert", "data-testid": "reopen-reason" },
      `重办（第${o.reopened_count || 1}次）：居民不满意，原因：${o.reopen_reason}`) : null,
    (o.supervision || []).length ? lastSupervision(o.supervision[o.supervision.length - 1]) : null,
    o.rectification && o.rectification.status === "open" ? h("div", { class: "alert" }, `差评整改：${o.rectification.level}，请重新办理并反馈`) : null,
    orderBody(o), actionButtons(o, api, reload));
}

export async function render(root, { api, user }) {
  const lists = h("div", { "data-testid": "unit-inbox" });
  async function reload() {
    const res = await api.orders({ limit: 200 });
    // A unit sees only orders dispatched to it (the API filters; a returned order leaves the unit).
    const open = res.items.filter((o) => o.open);
    const groups = new Map();
    for (const o of [...open].sort((a, b) => a.state_rank - b.state_rank)) {
      if (!groups.has(o.state)) groups.set(o.state, []);
      groups.get(o.state).push(o);
    }
    clear(lists, groups.size ? [...groups].map(([state, items]) => section(`${items[0].state_label}（${items.length}）`,
      h("div", { "data-testid": `group-${state}` }, items.map((o) => card(o, api, reload)))))
      : empty("本单位暂无待办工单。"));
  }
  root.append(h("h1", {}, `本单位工单${user.unit_name ? "：" + user.unit_name : ""}`),
    h("p", { class: "note" }, "只显示派给本单位（主办或协办）的工单。"),
    h("div", { class: "row" }, h("button", { type: "button", "data-testid": "refresh", onclick: (ev) => run(ev.currentTarget, reload) }, "刷新")),
    lists);
  await reload();
}
