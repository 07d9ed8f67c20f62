// Shell: login, role-based menu, hash routing, large-font mode.
import { api, session, setUnauthorizedHandler } from "./api.js";
import { clear, field, h, toast } from "./ui.js";

// Scenes and who sees them. The staff API enforces the same roles; the menu only reflects them.
export const SCENES = [
  { id: "frontdesk", label: "数字虚拟前台", roles: ["clerk", "dispatcher", "admin"], load: () => import("./views/frontdesk.js") },
  { id: "dispatch", label: "调度中心", roles: ["dispatcher", "supervisor", "admin"], load: () => import("./views/dispatch.js") },
  { id: "inbox", label: "本单位工单", roles: ["unit_handler", "admin"], load: () => import("./views/inbox.js") },
  { id: "supervision", label: "服务监督", roles: ["supervisor", "dispatcher", "admin"], load: () => import("./views/supervision.js") },
  // the hall screen of the front desk: opened from 排队叫号 in its own window, not in the menu
  { id: "callscreen", label: "叫号屏", roles: ["clerk", "dispatcher", "admin"], menu: false, load: () => import("./views/callscreen.js") },
  { id: "analytics", label: "数智分析", roles: ["dispatcher", "supervisor", "admin", "unit_handler"], load: () => import("./views/analytics.js") },
];
// Where each role starts: its own daily screen.
const HOME = { clerk: "frontdesk", dispatcher: "dispatch", supervisor: "supervision", unit_handler: "inbox", admin: "dispatch" };
const ROLE_LABELS = { dispatcher: "派单员", unit_handler: "承办人", supervisor: "督办员", clerk: "前台", admin: "管理员" };

const main = () => document.getElementById("main");

function scenesFor(user) {
  return SCENES.filter((s) => user && s.roles.includes(user.role));
}

function homeOf(user) {
  const allowed = scenesFor(user);
  return allowed.find((s) => s.id === HOME[user.role]) || allowed.find((s) => s.menu !== false);
}

// The element in the middle of the view before the font size changes (kept in view after it).
function anchorInView() {
  const top = document.getElementById("topbar").getBoundingClientRect().bottom;
  const y = Math.max(top + 8, Math.min(window.innerHeight / 3, window.innerHeight - 8));
  let el = document.elementFromPoint(window.innerWidth / 2, y);
  while (el && el !== document.body && !el.matches("section, article, .card, .field, .fact, form, li, p, h1, h2, h3")) el = el.parentElement;
  return el && el !== document.body && main().contains(el) ? el : null;
}

function setLarge(on) {
  const anchor = window.scrollY > 0 ? anchorInView() : null;
  document.body.classList.toggle("large", on);
  if (anchor) {
    const top = document.getElementById("topbar").getBoundingClientRect().bottom;
    window.scrollBy(0, anchor.getBoundingClientRect().top - top - 8);
  }
  const btn = document.getElementById("large-toggle");
  btn.setAttribute("aria-pressed", String(on));
  btn.textContent = on ? "标准字号" : "大字模式";
  localStorage.setItem("govdesk.large", on ? "1" : "0");
}

function whoLabel(user) {
  const name = user.name || user.username;
  const role = ROLE_LABELS[user.role] || user.role;
  const unit = user.unit_name ? ` · ${user.unit_name}` : "";
  return name === role && !unit ? name : `${name}（${role}${unit}）`;
}

function renderMenu(user, current) {
  const menu = document.getElementById("menu");
  clear(menu, scenesFor(user).filter((s) => s.menu !== false).map((s) =>
    h("a", { href: `#/${s.id}`, class: s.id === current ? "active" : "", "aria-current": s.id === current ? "page" : null,
      "data-testid": `menu-${s.id}` }, s.label)));
  document.getElementById("who").textContent =
    whoLabel(user);
}

function renderLogin(message) {
  document.getElementById("topbar").hidden = true;
  const user = h("input", { name: "username", autocomplete: "username", required: true, "data-testid": "login-user" });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true,
    "data-testid": "login-pass" });
  const err = h("p", { class: "hint error", role: "alert", "data-testid": "login-error" }, message || "");
  const form = h("form", { class: "card login", "data-testid": "login-form" },
    h("h1", {}, "政务智能前台 · 工作人员登录"),
    field("用户名", user).wrap, field("密码", pass).wrap, err,
    h("button", { class: "primary", type: "submit", "data-testid": "login-submit" }, "登录"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    try {
      const res = await api.login(user.value.trim(), pass.value);
      session.save(res.token, res.user);
      await addUnitName(res.user);
      location.hash = `#/${(homeOf(res.user) || {}).id || ""}`;
      await route();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  clear(main(), form);
  user.focus();
}

let routing = 0;
export async function route() {
  const ticket = ++routing;
  const user = session.user;
  if (!session.token || !user) return renderLogin();
  const allowed = scenesFor(user);
  const wanted = location.hash.replace(/^#\/?/, "").split("/")[0];
  const scene = allowed.find((s) => s.id === wanted) || homeOf(user);
  if (!scene) return renderLogin("该账号没有可用的功能。");
  if (scene.id !== wanted) history.replaceState(null, "", `#/${scene.id}`);
  document.getElementById("topbar").hidden = scene.id === "callscreen";
  renderMenu(user, scene.id);
  document.title = `${scene.label} · 政务智能前台`;
  const root = clear(main(), h("p", { class: "empty" }, "正在加载…"));
  try {
    const mod = await scene.load();
    if (ticket !== routing) return;
    clear(root);
    await mod.render(root, { user, api });
    root.dataset.scene = scene.id;
  } catch (e) {
    if (ticket === routing) clear(root, h("p", { class: "hint error", role: "alert" }, e.message || String(e)));
  }
}

async function addUnitName(user) {
  if (!user.unit_id) return;
  try { user.unit_name = (await api.unit(user.unit_id)).name; } catch { return; }
  session.save(session.token, user);
}

async function boot() {
  setUnauthorizedHandler(() => {
    session.clear();
    renderLogin("登录已过期，请重新登录。");
  });
  document.getElementById("large-toggle").addEventListener("click", () =>
    setLarge(!document.body.classList.contains("large")));
  document.getElementById("logout").addEventListener("click", () => {
    session.clear();
    location.hash = "";
    renderLogin("已退出。");
  });
  setLarge(localStorage.getItem("govdesk.large") === "1");
  window.addEventListener("hashchange", route);
  if (session.token) {
    try {
      const me = await api.me();
      session.save(session.token, me);
      await addUnitName(me);
    } catch { session.clear(); }
  }
  await route();
}

window.addEventListener("error", (e) => toast(`页面出错：${e.message}`, "error"));
boot();
