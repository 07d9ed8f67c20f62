// 叫号屏: the hall screen of the front desk (opened from 排队叫号 in its own window, e.g. on a TV).
// Large numbers per window, the last calls, and every new call read aloud.
import { clear, h } from "../ui.js";
import { announce } from "./deskextras.js";

const POLL_MS = 3000;

export async function render(root, { api }) {
  const board = h("ul", { class: "screen-windows", "data-testid": "screen-windows" });
  const recent = h("p", { class: "screen-recent", "data-testid": "screen-recent" });
  const clock = h("p", { class: "screen-clock" });
  let seen = null;  // called_at of the newest call already shown (null = first load: read nothing old)

  async function tick() {
    const q = await api.queue();
    clear(board, q.windows.map((w) => h("li", { "data-window": w.id },
      h("span", { class: "screen-number", "data-testid": `screen-current-${w.id}` }, w.current ? w.current.number : "—"),
      h("span", {}, `请到 ${w.name}`),
      h("span", { class: "screen-waiting" }, `等候 ${w.waiting.length} 人`))));
    recent.textContent = `刚才叫到：${q.calls.slice(0, 6).map((c) => c.number).join("　") || "—"}`;
    clock.textContent = `平均等候 ${q.avg_wait_minutes ?? "—"} 分钟`;
    const fresh = seen === null ? [] : q.calls.filter((c) => c.called_at > seen).reverse();
    for (const c of fresh) announce(`请 ${c.number.split("").join(" ")} 号，到 ${c.window_name} 办理`);
    if (q.calls.length) seen = q.calls.reduce((m, c) => (c.called_at > m ? c.called_at : m), seen || "");
    else if (seen === null) seen = "";
  }

  root.append(h("section", { class: "call-screen", "aria-label": "叫号屏" },
    h("h1", {}, "叫号屏　请留意您的号码"), board, recent, clock));
  await tick();
  const timer = setInterval(() => { if (!root.isConnected || root.dataset.scene !== "callscreen") { clearInterval(timer); return; }
    tick().catch(() => null); }, POLL_MS);
}
