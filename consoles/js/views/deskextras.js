// The seed front desk (J-town 数字虚拟前台): 在线排队叫号 (tickets per window, called from the clerk's
// console and on a large call screen, read aloud), 申请材料实时上传 (a photo per checklist item,
// taken with the tablet or chosen from a file, downscaled here and stored encrypted with the order),
// 在线签名确认评价 (the resident signs the receipt on the tablet, then gives the 好差评 five levels).
import { clear, h, run, toast } from "../ui.js";

export const RATING_LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_SOURCE_BYTES = 15 * 1024 * 1024;   // what a tablet camera gives
const MAX_UPLOAD_BYTES = 1024 * 1024;        // what the staff API accepts after downscaling
const MAX_SIDE = 1600;

// Read a text aloud (Mandarin, slowly) and keep it for whoever checks what was announced.
export function announce(text) {
  (window.__announcements ||= []).push(text);
  try {
    if (!window.speechSynthesis) return;
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.rate = 0.8;
    window.speechSynthesis.speak(u);
  } catch { /* no voice on this device: the screen still shows the number */ }
}

const minutes = (n) => (n === null || n === undefined ? "—" : `${n}分钟`);

export function queuePanel(api, { onCalled } = {}) {
  const windowSel = h("select", { "data-testid": "queue-window", "aria-label": "窗口" },
    h("option", { value: "A" }, "A 综合受理窗口"), h("option", { value: "B" }, "B 社保医保窗口"),
    h("option", { value: "C" }, "C 户籍证件窗口"));
  const elderly = h("input", { type: "checkbox", "data-testid": "queue-elderly", id: "queue-elderly" });
  const ticketBox = h("div", { class: "ticket", "data-testid": "ticket", "aria-live": "polite", hidden: true });
  const calledBox = h("div", { class: "called", "data-testid": "called", "aria-live": "assertive", hidden: true });
  const status = h("ul", { class: "queue-status", "data-testid": "queue-status" });

  function drawStatus(q) {
    clear(status, q.windows.map((w) => h("li", { "data-window": w.id },
      h("strong", {}, `${w.id} ${w.name}`),
      `：正在办理 ${w.current ? w.current.number : "—"}；等候 ${w.waiting.length} 人`,
      w.waiting.length ? `（最长已等 ${minutes(Math.max(...w.waiting.map((t) => t.waited_minutes)))}；`
        + `${w.waiting.filter((t) => t.elderly).length} 位老年人优先）` : "")),
    h("li", { class: "note" }, `今天平均等候：${minutes(q.avg_wait_minutes)}`));
  }
  async function refresh() {
    const q = await api.queue();
    drawStatus(q);
    return q;
  }

  const take = h("button", { type: "button", "data-testid": "take-ticket", onclick: (ev) => run(ev.currentTarget, async () => {
    const t = await api.takeTicket(windowSel.value, elderly.checked);
    ticketBox.hidden = false;
    clear(ticketBox, h("div", { class: "ticket-label" }, `${t.window_name}${t.elderly ? "（老年人优先）" : ""}`),
      h("div", { class: "ticket-number", "data-testid": "ticket-number" }, t.number),
      h("div", {}, t.ahead ? `前面还有 ${t.ahead} 人，请留意叫号` : "马上就到您，请留意叫号"));
    elderly.checked = false;
    await refresh();
  }) }, "取号");
  const call = h("button", { type: "button", class: "primary", "data-testid": "call-next", onclick: (ev) => run(ev.currentTarget, async () => {
    const t = await api.callNext(windowSel.value);
    calledBox.hidden = false;
    clear(calledBox, "正在办理：", h("strong", { class: "ticket-number", "data-testid": "called-number" }, t.number),
      `（${t.window_name}，等候 ${minutes(t.waited_minutes)}${t.elderly ? "，老年人" : ""}）`);
    if (!screenWin || screenWin.closed) announce(`请 ${t.number.split("").join(" ")} 号，到 ${t.window_name} 办理`);
    await refresh();
    if (onCalled) onCalled(t);
  }) }, "叫下一位");

  // The hall screen runs in its own window (#/callscreen) and reads each call aloud; without one,
  // the console reads it.
  let screenWin = null;
  const openScreen = h("button", { type: "button", "data-testid": "open-call-screen", onclick: () => {
    screenWin = window.open(`${location.pathname}#/callscreen`, "govdesk-callscreen");
    if (!screenWin) toast("浏览器拦截了新窗口，请允许弹出窗口后再打开叫号屏。", "error");
  } }, "打开叫号屏");

  const el = h("section", { class: "card queue-panel", "aria-labelledby": "queue-title", "data-testid": "queue" },
    h("h2", { id: "queue-title" }, "排队叫号"),
    h("div", { class: "row" }, h("label", { class: "inline" }, "窗口 ", windowSel),
      h("label", { class: "inline check", for: "queue-elderly" }, elderly, "老年人优先"), take, call, openScreen),
    ticketBox, calledBox, status);
  const timer = setInterval(() => { if (!el.isConnected) { clearInterval(timer); return; } refresh().catch(() => null); }, 15000);
  refresh().catch((e) => toast(e.message, "error"));
  return { el, refresh };
}

// A tablet photo of one material: checked by type and size, downscaled to at most MAX_SIDE pixels as
// JPEG. Resolves a Blob, or throws an Error with a Chinese message.
export async function preparePhoto(file) {
  if (!PHOTO_TYPES.includes(file.type)) throw new Error("只能上传照片（JPG、PNG 或 WebP 格式）。");
  if (file.size > MAX_SOURCE_BYTES) throw new Error(`照片太大（${Math.round(file.size / 1048576)} MB），请重新拍摄。`);
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { throw new Error("这张照片打不开，请重新拍摄。"); }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.82, 0.65, 0.5]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob && blob.size <= MAX_UPLOAD_BYTES) return blob;
  }
  throw new Error("照片压缩后仍然太大，请靠近一些重新拍摄。");
}

// The photo control of one checklist item: a button opening the camera (or files) and a thumbnail.
export function photoControl(index, item, photos, onPhoto) {
  const input = h("input", { type: "file", accept: PHOTO_TYPES.join(","), capture: "environment", class: "sr-only",
    id: `photo-${index}`, "data-testid": "material-photo", "aria-label": `${item.name}：拍照或上传照片` });
  const thumb = h("span", { class: "thumbs", "data-testid": "material-thumbs" });
  const draw = () => clear(thumb, photos.filter((p) => p.index === index).map((p) =>
    h("img", { src: p.url, alt: `${item.name}的照片`, class: "thumb", "data-testid": "material-thumb" })));
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    try {
      const blob = await preparePhoto(file);
      photos.push({ index, item: item.name, blob, url: URL.createObjectURL(blob), uploaded: false });
      draw();
      await onPhoto();
    } catch (e) {
      toast(e.message, "error");
    }
  });
  draw();
  return h("span", { class: "photo-control" },
    input, h("label", { for: `photo-${index}`, class: "button-like", "data-testid": "material-photo-button" }, "拍照/上传"), thumb);
}

// Upload what is not yet uploaded (after the order exists); returns the number uploaded in all.
export async function uploadPhotos(api, orderId, photos) {
  for (const p of photos.filter((x) => !x.uploaded)) {
    await api.uploadMaterial(orderId, p.item, p.blob);
    p.uploaded = true;
  }
  return photos.filter((x) => x.uploaded).length;
}

// On-screen signature and then the 好差评, under the receipt. reg.created keeps what was done.
export function signAndRate(api, created) {
  const box = h("div", { class: "sign-rate", "data-testid": "sign-rate" });
  function draw() {
    if (!created.signatureUrl) { clear(box, signaturePad()); return; }
    clear(box,
      h("div", { class: "signed" }, h("span", { class: "fact-label" }, "居民签名确认："),
        h("img", { src: created.signatureUrl, alt: "居民签名", class: "signature-image", "data-testid": "signature-image" })),
      created.rating
        ? h("p", { class: "hint ok", "data-testid": "rating-done" }, `感谢您的评价：${created.rating}`)
        : rating());
  }
  function signaturePad() {
    const canvas = h("canvas", { width: 600, height: 200, class: "signature-pad", "data-testid": "signature-pad",
      "aria-label": "请居民在框内签名" });
    const ctx = canvas.getContext("2d");
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#000";
    let drawing = false, strokes = 0;
    const at = (ev) => { const r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height]; };
    canvas.addEventListener("pointerdown", (ev) => { drawing = true; strokes += 1; canvas.setPointerCapture(ev.pointerId);
      ctx.beginPath(); ctx.moveTo(...at(ev)); });
    canvas.addEventListener("pointermove", (ev) => { if (!drawing) return; ctx.lineTo(...at(ev)); ctx.stroke(); });
    const end = () => { drawing = false; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    const msg = h("p", { class: "hint error", role: "alert" });
    const save = h("button", { type: "button", class: "primary", "data-testid": "signature-save", onclick: (ev) => {
      if (!strokes) { msg.textContent = "请居民先在框内签名。"; return; }
      run(ev.currentTarget, async () => {
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
        await api.uploadSignature(created.order.id, blob);
        created.signatureUrl = URL.createObjectURL(blob);
        draw();
      }, "已保存居民签名");
    } }, "确认签名");
    return [h("h3", {}, "请居民签名确认"), h("p", { class: "say-resident" }, "请您核对回执无误后，在下面的框里签名："),
      canvas, msg,
      h("div", { class: "row" }, save,
        h("button", { type: "button", "data-testid": "signature-clear", onclick: () => {
          ctx.clearRect(0, 0, canvas.width, canvas.height); strokes = 0; msg.textContent = "";
        } }, "重新签"))];
  }
  function rating() {
    return [h("h3", {}, "请您为这次服务评价"),
      h("div", { class: "row rating", role: "group", "aria-label": "好差评" }, RATING_LEVELS.map((level, i) =>
        h("button", { type: "button", class: i < 3 ? "rate good" : "rate bad", "data-testid": `rate-${i + 1}`,
          onclick: (ev) => run(ev.currentTarget, async () => {
            await api.rateDesk(created.order.id, level);
            created.rating = level;
            draw();
          }) }, level)))];
  }
  draw();
  return box;
}

