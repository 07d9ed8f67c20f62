// 服务监督: overdue and nearly-due orders (督办/预警 queue + overdue filter), 督办, extension approval,
// bad reviews under rectification, callbacks to do (回访), reopen and archive.
import { clear, empty, fmtTime, h, orderBody, orderHead, prompt, run, section } from "../ui.js";
import { unitName } from "../places.js";

function btn(label, testid, onclick, primary = false) {
  return h("button", { type: "button", class: primary ? "primary" : "", "data-testid": testid, onclick }, label);
}

export async function render(root, { api, user }) {
  const isSupervisor = ["supervisor", "admin"].includes(user.role);
  const boxes = { overdue: h("div", { "data-testid": "overdue-list" }), queue: h("div", { "data-testid": "queue" }),
    ext: h("div", { "data-testid": "extensions" }), bad: h("div", { "data-testid": "bad-reviews" }),
    callbacks: h("div", { "data-testid": "callbacks" }) };
  const summary = h("p", { class: "note", "data-testid": "supervision-summary" });

  const doAction = (id, action, body, okMsg) => (ev) =>
    run(ev.currentTarget, () => api.action(id, action, body), okMsg).then((r) => r && reload());
  const askThen = (id, action, title, label, fieldName, extra = {}) => async (ev) => {
    const b = ev.currentTarget;
    const text = await prompt(title, label);
    if (!text) return;
    const r = await run(b, () => api.action(id, action, { [fieldName]: text, ...extra }), `${title}成功`);
    if (r) reload();
  };

  function orderCard(o, testid, buttons) {
    return h("article", { class: "card order", "data-testid": testid, "data-order": o.id }, orderHead(o), orderBody(o),
      (o.supervision || []).length ? h("p", { class: "note" }, `督办记录 ${o.supervision.length} 条，最近：${
        o.supervision[o.supervision.length - 1].note || o.supervision[o.supervision.length - 1].kind}`) : null,
      h("div", { class: "row actions" }, buttons));
  }

  async function reload() {
    const [overdue, queue, open, completed] = await Promise.all([
      api.orders({ overdue: "true", limit: 200 }), api.supervision(100),
      api.orders({ limit: 500 }), api.orders({ action: "callback", limit: 200 })]);
    const openItems = overdue.items.filter((o) => o.open);
    summary.textContent = `超期未办结 ${openItems.length} 件；督办/预警记录 ${queue.items.length} 条；待回访 ${completed.total} 件`;
    clear(boxes.overdue, openItems.length ? openItems.map((o) => orderCard(o, "overdue-order", [
      isSupervisor ? btn("督办", "supervise", askThen(o.id, "supervise", "督办", "督办意见（承办单位会看到）", "note"), true) : null]))
      : empty("没有超期工单。"));
    clear(boxes.queue, queue.items.length ? h("ul", { class: "queue" }, queue.items.map((q) => {
      const unit = h("span", {}, q.unit_id || "未派单");
      if (q.unit_id) unitName(q.unit_id).then((n) => { unit.textContent = n; });
      return h("li", { class: `queue-item ${q.kind}`, "data-testid": "queue-item", "data-order": q.order_id },
        h("span", { class: `tag ${q.kind === "supervise" ? "danger" : q.kind === "warn" ? "warn" : ""}` }, q.label),
        h("span", { class: "order-id" }, q.order_id), h("span", {}, q.title || ""), unit,
        h("span", { class: "note" }, `${q.note || ""} 期限 ${fmtTime(q.deadline)}`));
    })) : empty("暂无督办或预警。"));
    const pendingExt = open.items.filter((o) => (o.extension_request || {}).status === "pending");
    clear(boxes.ext, pendingExt.length ? pendingExt.map((o) => orderCard(o, "extension-order", [
      h("span", { class: "note" }, `理由：${o.extension_request.reason}`),
      isSupervisor ? btn("批准延期", "approve-extension", doAction(o.id, "approve_extension", {}, "已批准延期"), true) : null,
      isSupervisor ? btn("驳回", "refuse-extension", askThen(o.id, "refuse_extension", "驳回延期", "驳回理由（会转给承办单位）", "note")) : null]))
      : empty("没有待审批的延期申请。"));
    const bad = open.items.filter((o) => o.rectification && o.rectification.status !== "closed");
    clear(boxes.bad, bad.length ? bad.map((o) => orderCard(o, "bad-review", [
      h("span", { class: "tag danger" }, `评价：${o.rectification.level}`),
      h("span", { class: "note" }, `整改${{ open: "进行中", replied: "已反馈，待回访" }[o.rectification.status] || o.rectification.status}`)]))
      : empty("没有差评整改中的工单。"));
    const cbs = [...completed.items, ...open.items.filter((o) => (o.actions || []).includes("archive"))];
    // 回访 is a phone call: offered to whoever sees the full number (the supervisor); the others are told.
    const callbackButtons = (o) => (user.role === "supervisor" ? [
      btn("回访：满意", "callback-yes", doAction(o.id, "callback", { satisfied: true }, "已记录回访：满意"), true),
      btn("回访：不满意", "callback-no", askThen(o.id, "callback", "回访不满意", "居民不满意的原因（会转给承办单位）", "note", { satisfied: false }))]
      : [h("span", { class: "note", "data-testid": "callback-by-supervisor" }, "回访由督办员拨打（您看到的号码已隐去中间四位）。")]);
    // What each order offers is its `actions`: 回访 first, then 重办 (after 不满意) or 归档.
    clear(boxes.callbacks, cbs.length ? cbs.map((o) => orderCard(o, "callback-order", o.actions.includes("callback")
      ? callbackButtons(o)
      : [o.actions.includes("reopen")
        ? btn("重办", "reopen", doAction(o.id, "reopen", {}, "已重办"), true)
        : btn("归档", "archive", doAction(o.id, "archive", {}, "已归档"), true)]))
      : empty("没有待回访的工单。"));
  }

  root.append(h("h1", {}, "服务监督"), summary,
    h("div", { class: "row" }, btn("刷新", "refresh", (ev) => run(ev.currentTarget, reload))),
    section("超期工单", boxes.overdue), section("督办与预警记录（临期预警、超期督办、差评整改）", boxes.queue),
    section("延期申请", boxes.ext), section("差评整改", boxes.bad), section("待回访与归档", boxes.callbacks));
  await reload();
}
