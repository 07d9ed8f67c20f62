import { api } from "./api.js";

// Tiny DOM helpers. Data is always inserted as text (never innerHTML), so nothing from the API is
// interpreted as markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// One small toast at a time (a new one replaces the last), out of the way of the fields and
// click-through: the outcome itself is shown on the screen, the toast only confirms it.
let toastTimer = null;
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": "toast" }, message);
  box.replaceChildren(item);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => item.remove(), kind === "error" ? 6000 : 2500);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  // The API speaks Beijing time ("2026-03-02T09:00:00+08:00"): show its own wall-clock time,
  // whatever the time zone of this browser.
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  if (m) return `${m[1]} ${m[2]}`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function pct(v) {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`;
}

export const URGENCY_CLASS = { 特急: "tag danger", 紧急: "tag warn", 一般: "tag" };

// Runs an async action from a button: disables it meanwhile, reports errors in plain Chinese.
export async function run(button, fn, okMessage) {
  if (button) button.disabled = true;
  try {
    const out = await fn();
    if (okMessage) toast(okMessage, "ok");
    return out;
  } catch (err) {
    toast(err.message || String(err), "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// A labelled field: returns {wrap, input, hint}.
export function field(label, input, hintText = "") {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hint = h("div", { class: "hint", id: `${id}-hint`, "aria-live": "polite" }, hintText);
  input.setAttribute("aria-describedby", hint.id);
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, hint);
  return { wrap, input, hint };
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

// Order summary block shared by the workbench views.
export function orderHead(o) {
  return h("div", { class: "order-head" },
    h("span", { class: "order-id", "data-testid": "order-id" }, o.id),
    h("span", { class: "tag state" }, o.state_label || o.state),
    h("span", { class: URGENCY_CLASS[o.urgency] || "tag" }, o.urgency),
    h("span", { class: "tag" }, o.category), h("span", { class: "tag" }, o.type),
    o.overdue ? h("span", { class: "tag danger", "data-testid": "overdue" }, "已超期") : null,
    o.supervised ? h("span", { class: "tag warn" }, "督办中") : null);
}

export function orderBody(o) {
  const place = o.place || {};
  const caller = o.caller || {};
  return h("dl", { class: "facts" },
    h("dt", {}, "标题"), h("dd", {}, o.title || "—"),
    h("dt", {}, "诉求"), h("dd", { class: "order-text" }, o.text || "—"),
    h("dt", {}, "地点"), h("dd", {}, [place.county, place.township, place.village].filter(Boolean).join(" ") || "—"),
    h("dt", {}, "来电人"), h("dd", { "data-testid": "caller" },
      [caller.name, caller.phone, caller.id_number].filter(Boolean).join("　") || "—"),
    h("dt", {}, "受理时间"), h("dd", {}, fmtTime(o.created_at)),
    h("dt", {}, "办理期限"), h("dd", {}, fmtTime(o.deadline)),
    o.lead_unit ? [h("dt", {}, "承办单位"), h("dd", {}, o.lead_unit.name)] : null,
    o.reply ? [h("dt", {}, "答复"), h("dd", {}, o.reply)] : null,
    attachmentsRow(o),
    o.desk_rating ? [h("dt", {}, "窗口评价"), h("dd", { "data-testid": "desk-rating" }, o.desk_rating.level)] : null);
}

// Material photos and the resident's signature (stored encrypted; fetched only when asked for).
function attachmentsRow(o) {
  const photos = o.material_photos || [];
  if (!photos.length && !o.signature) return null;
  const shown = h("div", { class: "attachments", "data-testid": "attachments" });
  const names = [...photos.map((p) => [`material-${p.id}`, `材料照片：${p.item}`]), ...(o.signature ? [["signature", "居民签名"]] : [])];
  const view = h("button", { type: "button", "data-testid": "view-attachments", onclick: (ev) => run(ev.currentTarget, async () => {
    const imgs = [];
    for (const [name, label] of names) {
      const blob = await (await api.attachment(o.id, name)).blob();
      imgs.push(h("figure", {}, h("img", { src: URL.createObjectURL(blob), alt: label }), h("figcaption", {}, label)));
    }
    clear(shown, imgs);
    ev.target.hidden = true;
  }) }, "查看照片和签名");
  const text = [photos.length ? `材料照片 ${photos.length} 张（${[...new Set(photos.map((p) => p.item))].join("、")}）` : "",
    o.signature ? `居民已签名确认（${fmtTime(o.signature.at)}）` : ""].filter(Boolean).join("；");
  return [h("dt", {}, "材料与签名"), h("dd", { "data-testid": "attachments-summary" }, text, " ", view, shown)];
}

// A modal <dialog> that always leaves the page when it closes (OK, 取消 or Escape).
function modal(children, onClose) {
  const dlg = h("dialog", { class: "dialog" }, children);
  dlg.addEventListener("close", () => { dlg.remove(); onClose(); });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

export function prompt(title, label, { minLength = 2, placeholder = "" } = {}) {
  // Accessible inline dialog (native <dialog>), resolves with the text or null.
  return new Promise((resolve) => {
    let value = null;
    const input = h("textarea", { rows: 3, placeholder, "data-testid": "dialog-input" });
    const msg = h("div", { class: "hint error", role: "alert" });
    const dlg = modal([
      h("h2", {}, title), field(label, input).wrap, msg,
      h("div", { class: "row" },
        h("button", { class: "primary", type: "button", "data-testid": "dialog-ok", onclick: () => {
          const v = input.value.trim();
          if (v.length < minLength) { msg.textContent = `请至少填写${minLength}个字。`; return; }
          value = v; dlg.close();
        } }, "确定"),
        h("button", { type: "button", "data-testid": "dialog-cancel", onclick: () => dlg.close() }, "取消"))],
    () => resolve(value));
    input.focus();
  });
}

// Asks before an action that cannot be taken back; resolves true only on the OK button.
export function confirmAction(title, text, okLabel = "确定") {
  return new Promise((resolve) => {
    let yes = false;
    const ok = h("button", { class: "primary", type: "button", "data-testid": "confirm-ok", onclick: () => { yes = true; dlg.close(); } }, okLabel);
    const dlg = modal([h("h2", {}, title), h("p", { "data-testid": "confirm-text" }, text),
      h("div", { class: "row" }, ok,
        h("button", { type: "button", "data-testid": "confirm-cancel", onclick: () => dlg.close() }, "取消"))],
    () => resolve(yes));
    ok.focus();
  });
}
