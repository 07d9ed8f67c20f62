// 数字虚拟前台: search a matter as the resident says it, walk the guided script (all facts from the
// catalogue matter JSON), fill the form with live validation, create the request through the staff
// API, print a receipt; the bot conversation runs side by side.
import { clear, field, fmtTime, h, run, section, toast } from "../ui.js";
import { halfWidth, validateIdNumber, validatePhone } from "../validate.js";
import { places } from "../places.js";
import { photoControl, queuePanel, signAndRate, uploadPhotos } from "./deskextras.js";

const ELDERLY_AGE = 60;

function uid() {
  return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^a-zA-Z0-9-]/g, "");
}

function fact(label, f, { testid, highlight } = {}) {
  if (!f || !f.text) return null;
  return h("div", { class: `fact${highlight ? " highlight" : ""}`, "data-testid": testid },
    h("div", { class: "fact-label" }, label),
    h("div", { class: "fact-text" }, f.text),
    f.basis ? h("div", { class: "basis" }, `依据：${f.basis}`) : null);
}

const todayISO = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

export async function render(root, { api }) {
  // One registration at a time (state.reg): its form is built once and kept across step changes; its
  // request id makes a double click or a retry safe, and a new registration (新登记 / 接待下一位) gets
  // a new one. A submitted registration is corrected (更正登记) on the same work order.
  const state = { matter: null, direct: false, step: 0, ticked: new Set(), age: null, reg: null, ticket: null };
  const queue = queuePanel(api, { onCalled: (t) => { state.ticket = t; } });

  const searchInput = h("input", { type: "search", placeholder: "居民怎么说就怎么输，如：身份证丢了", "data-testid": "matter-search",
    autocomplete: "off" });
  const hits = h("div", { class: "hits", "data-testid": "matter-hits" });
  const searchForm = h("form", { class: "row search", role: "search" },
    field("居民要办什么？", searchInput).wrap,
    h("button", { class: "primary", type: "submit", "data-testid": "matter-search-go" }, "查找事项"));
  const script = h("div", { id: "script", "data-testid": "script" });
  const bot = botPanel(api, () => state.matter);
  const botToggle = h("button", { type: "button", "data-testid": "bot-toggle", "aria-expanded": "false" }, "打开机器人对话");
  botToggle.addEventListener("click", () => {
    const open = bot.el.hidden;
    bot.el.hidden = !open;
    botToggle.setAttribute("aria-expanded", String(open));
    botToggle.textContent = open ? "收起机器人对话" : "打开机器人对话";
    layout.classList.toggle("with-bot", open);
    if (open) bot.start();
  });
  const directButton = () => h("button", { type: "button", "data-testid": "direct-register", onclick: chooseDirect },
    "目录里没有：直接登记诉求");

  searchForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = searchInput.value.trim();
    if (!q) { toast("请先输入居民要办的事。", "error"); return; }
    const res = await run(null, () => api.searchMatters(q, 5));
    if (!res) return;
    clear(hits);
    if (!res.hits.length) {
      hits.append(h("p", { class: "empty" }, "没有找到相关事项。可以换个说法，或直接登记居民的诉求。"), directButton());
      return;
    }
    if (res.clarify) hits.append(h("p", { class: "clarify", "data-testid": "clarify" }, `可以问居民：${res.clarify}`));
    hits.append(h("ul", { class: "hit-list" }, res.hits.map((hit) => h("li", {},
      h("button", { type: "button", class: "hit", "data-testid": "matter-hit", "data-matter": hit.matter_id,
        onclick: () => choose(hit.matter_id) },
      h("span", { class: "hit-name" }, hit.name),
      hit.matched && hit.matched !== hit.name ? h("span", { class: "hit-matched" }, `（居民说法：${hit.matched}）`) : null)))),
    h("p", { class: "note" }, "都不是居民要办的事（例如路灯坏了、噪音扰民）？"), directButton());
  });

  // carry: the resident's details typed for a registration not yet submitted, kept when the clerk
  // switches to another matter (or to 直接登记) for the same resident.
  function newRegistration(carry = null) {
    state.reg = { requestId: uid(), form: null, created: null, correcting: false, photos: [], carry };
    state.ticked = new Set();
    state.age = null;
  }

  async function choose(id) {
    const matter = await run(null, () => api.matter(id));
    if (!matter) return;
    const carry = unsubmitted();
    Object.assign(state, { matter, direct: false, step: 0 });
    newRegistration(carry);
    drawScript();
    script.scrollIntoView({ block: "start" });
  }

  function unsubmitted() {
    const reg = state.reg;
    if (!reg || reg.created) return null;
    return reg.form ? reg.form.values() : reg.carry;
  }

  function chooseDirect() {
    const carry = unsubmitted();
    Object.assign(state, { matter: null, direct: true, step: 0 });
    newRegistration(carry);
    drawScript();
    script.scrollIntoView({ block: "start" });
    state.reg.form.focus();
  }

  function steps() {
    const m = state.matter;
    const elderly = state.age !== null && state.age >= ELDERLY_AGE;
    return [
      { title: "核对事项", body: () => [
        h("p", { class: "say" }, `请问居民：“您要办的是「${m.name}」，对吗？”`),
        h("p", { class: "summary" }, m.summary),
        fact("在哪里办", m.where, { testid: "fact-where" }),
        fact("谁可以办", m.eligibility, { testid: "fact-eligibility" }),
        m.department ? h("p", { class: "basis" }, `主管部门：${m.department.full_name || m.department.name}`) : null] },
      { title: "问清情况", body: () => [
        h("p", { class: "say" }, "请逐条问居民，并按下面的规定答复："),
        fact("是否本人到场", m.in_person),
        fact("能否代办", m.proxy),
        fact("能否异地办理", m.cross_province),
        fact("能否网上办", m.online),
        fact("老年人便利", m.elderly, { testid: "fact-elderly", highlight: elderly })] },
      { title: "核对材料", body: () => [
        h("p", { class: "say" }, "请逐项核对居民带来的材料，带了的打勾："),
        h("ul", { class: "checklist", "data-testid": "materials" }, (m.materials.items || []).map((it, i) => {
          const box = h("input", { type: "checkbox", id: `mat-${i}`, "data-testid": "material", checked: state.ticked.has(i) });
          box.addEventListener("change", () => (box.checked ? state.ticked.add(i) : state.ticked.delete(i)));
          const reg = state.reg;
          const photo = photoControl(i, it, reg.photos, async () => {
            state.ticked.add(i); box.checked = true;   // photographed = brought
            if (reg.created) {  // already registered: the photo goes to the order at once
              const n = await run(null, () => uploadPhotos(api, reg.created.order.id, reg.photos), "照片已上传");
              if (n !== undefined) reg.created.photoCount = n;
            }
          });
          return h("li", {}, h("label", { for: `mat-${i}` }, box,
            h("span", {}, it.name, it.optional ? h("span", { class: "tag" }, "非必需") : null,
              it.note ? h("span", { class: "note" }, `（${it.note}）`) : null)), photo);
        })),
        m.materials.basis ? h("p", { class: "basis" }, `依据：${m.materials.basis}`) : null] },
      { title: "费用和时限", body: () => [
        h("p", { class: "say" }, "请告诉居民费用、办理时限和办理流程："),
        fact("费用", m.fee, { testid: "fact-fee" }),
        fact("办理时限", m.time_limit, { testid: "fact-time-limit" }),
        h("div", { class: "fact" }, h("div", { class: "fact-label" }, "办理流程"),
          h("ol", { class: "steps-list" }, (m.steps.items || []).map((s) => h("li", {}, s))),
          m.steps.basis ? h("div", { class: "basis" }, `依据：${m.steps.basis}`) : null)] },
      { title: "登记信息", body: () => [m.registrable === false
        ? h("p", { class: "hint error" }, "该事项不能在前台登记，请按上面的规定引导居民办理。")
        : theForm().el] },
    ];
  }

  function theForm() {
    if (!state.reg.form) {
      state.reg.form = orderForm();
      if (state.reg.carry) state.reg.form.fill(state.reg.carry);
    }
    state.reg.form.sync();
    return state.reg.form;
  }

  function drawScript() {
    if (state.direct) {
      clear(script, section("直接登记诉求",
        h("p", { class: "say" }, "事项目录里没有这件事：请记下居民的原话和地点，提交后由派单员派给承办单位。"),
        theForm().el), state.reg.created ? receipt() : null);
      return;
    }
    const m = state.matter;
    if (!m) { clear(script); return; }
    const all = steps();
    const cur = all[state.step];
    const go = (i) => { state.step = i; drawScript(); };
    const nav = h("ol", { class: "stepper", "aria-label": "引导步骤" }, all.map((s, i) =>
      h("li", { class: i === state.step ? "current" : i < state.step ? "done" : "" },
        h("button", { type: "button", "aria-current": i === state.step ? "step" : null, "data-testid": `stepper-${i + 1}`,
          onclick: () => go(i) }, `${i + 1}. ${s.title}`))));
    const buttons = h("div", { class: "row step-buttons" },
      state.step > 0 ? h("button", { type: "button", "data-testid": "prev-step", onclick: () => go(state.step - 1) }, "上一步") : null,
      state.step < all.length - 1 ? h("button", { type: "button", class: "primary", "data-testid": "next-step",
        onclick: () => go(state.step + 1) }, "下一步") : null);
    clear(script, section(`引导办理：${m.name}`,
      nav,
      h("div", { class: "step", "data-testid": `step-${state.step + 1}` }, h("h3", {}, `第${state.step + 1}步　${cur.title}`), cur.body()),
      buttons),
    state.reg.created ? receipt() : null);
  }

  function orderForm() {
    const direct = state.direct;
    const name = h("input", { autocomplete: "off", "data-testid": "f-name", maxlength: 50 });
    const phone = h("input", { inputmode: "numeric", autocomplete: "off", "data-testid": "f-phone", maxlength: 20 });
    const idno = h("input", { autocomplete: "off", "data-testid": "f-id", maxlength: 22 });
    const town = h("select", { "data-testid": "f-township" }, h("option", { value: "" }, "请选择乡镇"));
    const village = h("select", { "data-testid": "f-village" }, h("option", { value: "" }, "请选择村（社区）"));
    const address = h("input", { autocomplete: "off", "data-testid": "f-address", maxlength: 200 });
    const mode = h("select", { "data-testid": "f-mode" },
      h("option", { value: "request" }, "登记诉求（由工作人员跟进）"),
      h("option", { value: "appointment" }, "预约办理（约时间到窗口或上门）"));
    const when = h("input", { type: "date", "data-testid": "f-date", min: todayISO() });
    const story = h("textarea", { rows: 3, "data-testid": "f-text", maxlength: 1000,
      placeholder: "居民的原话，例如：杨湾村村口的路灯坏了一个星期，晚上很黑" });
    const notes = h("textarea", { rows: 3, "data-testid": "f-notes", maxlength: 1000,
      placeholder: "例如：老人行动不便，希望上门采集" });
    const fName = field("居民姓名", name);
    const fPhone = field("手机号", phone, "11位手机号");
    const fId = field(direct ? "身份证号（可不填）" : "身份证号", idno, "18位，最后一位可以是X");
    const fWhen = field("预约日期（预约办理时填写）", when);
    const formMsg = h("p", { class: "hint error", role: "alert", "data-testid": "form-error" });
    let towns = [];

    places().then((list) => {
      towns = list;
      town.append(...list.map((t, i) => h("option", { value: String(i) }, `${t.county} ${t.township}`)));
    }).catch((e) => toast(e.message, "error"));
    town.addEventListener("change", () => {
      clear(village, h("option", { value: "" }, "请选择村（社区）"));
      const t = towns[Number(town.value)];
      if (t && town.value !== "") village.append(...t.villages.map((v) => h("option", { value: v }, v)));
    });

    function show(f, res, okText) {
      f.hint.textContent = res.ok ? okText : res.message;
      f.hint.className = `hint ${res.ok ? "ok" : "error"}`;
      f.input.setAttribute("aria-invalid", String(!res.ok));
    }
    const idOptional = () => direct && !idno.value.trim();
    const checkPhone = () => { const r = validatePhone(phone.value); show(fPhone, r, "手机号格式正确"); return r; };
    const checkId = () => {
      if (idOptional()) { state.age = null; return { ok: true, value: "" }; }
      const r = validateIdNumber(idno.value);
      state.age = r.ok ? r.age : null;
      show(fId, r, r.ok ? `号码校验通过（${r.age}周岁${r.age >= ELDERLY_AGE ? "，老年人：可告知上门/优先等便利" : ""}）` : "");
      return r;
    };
    const halfOnBlur = (input) => { const v = halfWidth(input.value); if (v !== input.value) input.value = v; };
    phone.addEventListener("input", () => { if (halfWidth(phone.value).replace(/\D/g, "").length >= 11) checkPhone(); });
    phone.addEventListener("blur", () => { halfOnBlur(phone); checkPhone(); });
    idno.addEventListener("input", () => {
      if (halfWidth(idno.value).replace(/\s/g, "").length >= 18) checkId(); else fId.hint.textContent = "18位，最后一位可以是X";
    });
    idno.addEventListener("blur", () => { halfOnBlur(idno); if (idno.value.trim()) checkId(); });

    // Every problem in one line, in the order of the fields. quiet: without touching the field hints.
    function problems(quiet) {
      const out = [];
      if (direct && story.value.trim().length < 5) out.push("请用至少5个字记下居民的诉求。");
      if (name.value.trim().length < 2) out.push("请填写居民姓名。");
      const p = quiet ? validatePhone(phone.value) : checkPhone();
      if (!p.ok) out.push(`手机号：${p.message}`);
      const r = quiet ? (idOptional() ? { ok: true } : validateIdNumber(idno.value)) : checkId();
      if (!r.ok) out.push(`身份证号：${r.message}`);
      if (town.value === "" || !towns[Number(town.value)]) out.push("请选择乡镇。");
      if (!direct && mode.value === "appointment") {
        if (!when.value) out.push("预约办理请选择预约日期。");
        else if (when.value < todayISO()) out.push(`预约日期不能早于今天（${todayISO()}）。`);
      }
      return { list: out, p, r, t: towns[Number(town.value)] };
    }

    const submit = h("button", { type: "submit", class: "primary big", "data-testid": "submit-order" }, "提交登记");
    const cancelFix = h("button", { type: "button", "data-testid": "cancel-correction", hidden: true, onclick: () => {
      state.reg.correcting = false; drawScript();
    } }, "放弃更正");
    const fields = h("fieldset", { class: "plain" },
      h("legend", { class: "sr-only" }, "居民信息"),
      direct ? field("居民的诉求（原话）", story).wrap : null,
      h("div", { class: "grid2" }, fName.wrap, fPhone.wrap, fId.wrap,
        direct ? null : field("办理方式", mode).wrap, field("乡镇", town).wrap, field("村（社区）", village).wrap,
        field("详细地址（可不填）", address).wrap, direct ? null : fWhen.wrap),
      field("补充说明", notes).wrap);
    const form = h("form", { class: "order-form", novalidate: true, "data-testid": "order-form" },
      fields, formMsg, h("div", { class: "row" }, submit, cancelFix));
    const refreshMsg = () => { if (formMsg.textContent) formMsg.textContent = problems(true).list.join(" "); };
    form.addEventListener("input", refreshMsg);
    form.addEventListener("change", refreshMsg);

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      formMsg.textContent = "";
      const { list, p, r, t } = problems(false);
      if (list.length) { formMsg.textContent = list.join(" "); return; }
      const m = state.matter;
      const items = m ? m.materials.items || [] : [];
      const missing = items.filter((it, i) => !it.optional && !state.ticked.has(i)).map((it) => it.name);
      const ticked = items.filter((_, i) => state.ticked.has(i)).map((it) => it.name);
      const appointment = !direct && mode.value === "appointment";
      const modeLabel = direct ? "诉求登记" : appointment ? `预约办理：${when.value}` : "登记办理";
      const text = direct
        ? [story.value.trim(), notes.value.trim()].filter(Boolean).join("。")
        : [`${modeLabel}：${m.name}。`, ticked.length ? `已核材料：${ticked.join("、")}。` : "",
          missing.length ? `尚缺材料：${missing.join("、")}。` : "", notes.value.trim()].filter(Boolean).join("");
      const payload = {
        text, title: direct ? story.value.trim().slice(0, 30) : `${m.name}（${appointment ? "预约" : "登记"}）`,
        caller: { name: name.value.trim(), phone: p.value, id_number: r.value || undefined,
          address_detail: address.value.trim() || undefined },
        place: { county: t.county, township: t.township, village: village.value || undefined },
      };
      const reg = state.reg;
      let order;
      if (reg.created && reg.correcting) {
        order = await run(submit, () => api.correctOrder(reg.created.order.id, payload));
        if (!order) return;
        reg.created = { ...reg.created, order, ticked, missing, modeLabel, corrected: true };
        reg.correcting = false;
        toast(`已更正登记，工单号 ${order.id}`, "ok");
      } else {
        order = await run(submit, () => api.createOrder({ ...payload, channel: "frontdesk",
          matter_id: m ? m.id : undefined, client_request_id: `frontdesk-${reg.requestId}` }));
        if (!order) return;
        reg.created = { order, ticked, missing, modeLabel, corrected: false, ticket: state.ticket, photoCount: 0 };
        toast(`已登记，工单号 ${order.id}`, "ok");
      }
      if (reg.photos.some((p) => !p.uploaded)) {  // the material photos go with the order, encrypted
        const n = await run(null, () => uploadPhotos(api, order.id, reg.photos));
        if (n !== undefined) reg.created.photoCount = n;
      }
      drawScript();
      document.getElementById("receipt")?.scrollIntoView({ block: "start" });
    });

    // A submitted registration is read-only until the clerk chooses 更正登记.
    function sync() {
      const reg = state.reg;
      const locked = Boolean(reg.created) && !reg.correcting;
      fields.disabled = locked;
      submit.hidden = locked;
      cancelFix.hidden = !reg.correcting;
      submit.textContent = reg.correcting ? "提交更正" : "提交登记";
    }
    // The resident's own details (not the matter's): carried to another matter's form.
    const own = { name, phone, idno, address, notes };
    const values = () => ({ ...Object.fromEntries(Object.entries(own).map(([k, el]) => [k, el.value])),
      town: town.value, village: village.value });
    async function fill(v) {
      for (const [k, el] of Object.entries(own)) el.value = v[k] || "";
      if (v.idno) checkId();
      if (v.phone) checkPhone();
      await places().catch(() => null);
      town.value = v.town || "";
      town.dispatchEvent(new Event("change"));
      village.value = v.village || "";
    }
    return { el: form, sync, values, fill, focus: () => (direct ? story : name).focus() };
  }

  function receipt() {
    const { order, ticked, missing, modeLabel, corrected, ticket, photoCount } = state.reg.created;
    const m = state.matter;
    const c = order.caller || {};
    const place = order.place || {};
    const row = (label, value, attrs = {}) => [h("dt", {}, label), h("dd", attrs, value)];
    return h("section", { class: "card receipt", id: "receipt", "data-testid": "receipt" },
      h("h2", {}, "办事回执"),
      corrected ? h("p", { class: "hint ok", "data-testid": "receipt-corrected" }, `登记信息已更正（${fmtTime(order.updated_at)}）`) : null,
      state.reg.correcting ? h("p", { class: "alert" }, "正在更正这份登记：改好后点“提交更正”。") : null,
      h("dl", { class: "facts" },
        row("事项", m ? m.name : "诉求登记（由派单员派给承办单位）"),
        row("办理方式", modeLabel),
        row("工单号", order.id, { class: "order-id", "data-testid": "receipt-order-id" }),
        ticket ? row("排队号", `${ticket.number}（${ticket.window_name}）`) : null,
        row("登记时间", fmtTime(order.created_at)),
        row("居民", [c.name, c.phone].filter(Boolean).join("　")),
        m ? null : row("诉求", order.text),
        m ? null : row("地点", [place.county, place.township, place.village].filter(Boolean).join(" ")),
        m ? row("办理地点", m.where.text) : null,
        m ? row("费用", m.fee.text) : null,
        m ? row("办理时限", m.time_limit.text) : null,
        m ? row("已带材料", ticked.join("、") || "—") : null,
        m ? row("还需准备", missing.join("、") || "无") : null,
        photoCount ? row("材料照片", `已上传 ${photoCount} 张`, { "data-testid": "receipt-photos" }) : null,
        row("答复期限", fmtTime(order.deadline))),
      h("p", { class: "basis" }, "查询进度请拨打12345，报工单号。"),
      h("div", { class: "row no-print" },
        h("button", { type: "button", class: "primary", "data-testid": "print", onclick: () => window.print() }, "打印回执"),
        h("button", { type: "button", "data-testid": "resident-view-open", onclick: () => residentView(order, m, missing, modeLabel) },
          "给居民看（大字）"),
        h("button", { type: "button", "data-testid": "correct-order", disabled: state.reg.correcting, onclick: () => {
          state.reg.correcting = true;
          if (!state.direct) state.step = steps().length - 1;
          drawScript();
          state.reg.form.el.scrollIntoView({ block: "start" });
          state.reg.form.focus();
        } }, "更正登记"),
        h("button", { type: "button", "data-testid": "new-registration", onclick: () => {
          newRegistration();
          if (!state.direct) state.step = steps().length - 1;
          drawScript();
          state.reg.form.el.scrollIntoView({ block: "start" });
          state.reg.form.focus();
        } }, state.direct ? "新登记（下一条诉求）" : "新登记（同一事项，下一位居民）"),
        h("button", { type: "button", "data-testid": "new-resident", onclick: () => {
          Object.assign(state, { matter: null, direct: false, step: 0 });
          newRegistration();
          state.ticket = null;
          searchInput.value = ""; clear(hits); drawScript(); queue.el.scrollIntoView({ block: "start" });
        } }, "接待下一位")),
      signAndRate(api, state.reg.created));
  }

  const layout = h("div", { class: "frontdesk" },
    h("div", { class: "fd-main" }, queue.el,
      section("查找事项", searchForm, hits, h("div", { class: "row" }, botToggle)), script),
    bot.el);
  root.append(layout);
  searchInput.focus();
}

// What was registered, for the resident to read on the tablet: large type, no clerk prompts, the
// personal data masked as on the receipt. Closes with 返回 or Escape.
function residentView(order, m, missing, modeLabel) {
  const c = order.caller || {};
  const spaced = String(order.id).replace(/(\d{5})(\d{4})(\d{4})(\d+)/, "$1 $2 $3 $4");
  const back = h("button", { type: "button", class: "primary big", "data-testid": "resident-view-close", onclick: () => dlg.close() }, "返回");
  const dlg = h("dialog", { class: "resident-view", "data-testid": "resident-view", "aria-label": "请您核对登记内容" },
    h("h2", {}, "请您核对登记内容"),
    h("dl", { class: "facts" },
      h("dt", {}, "办理事项"), h("dd", {}, m ? `${m.name}（${modeLabel}）` : order.title || "诉求登记"),
      h("dt", {}, "您的姓名"), h("dd", {}, c.name || "—"),
      h("dt", {}, "联系电话"), h("dd", {}, c.phone || "—"),
      h("dt", {}, "工单号"), h("dd", { class: "order-id", "data-testid": "resident-order-id" }, spaced),
      m ? [h("dt", {}, "还需准备"), h("dd", {}, missing.join("、") || "无")] : null,
      h("dt", {}, "答复期限"), h("dd", {}, fmtTime(order.deadline))),
    h("p", { class: "say-resident" }, "信息不对请告诉工作人员更正。查询进度请拨打 12345，报工单号。"),
    h("div", { class: "row" }, back));
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  back.focus();
}

function botPanel(api, currentMatter) {
  const sessionId = uid().replace(/-/g, "").slice(0, 24);
  const log = h("ol", { class: "chat", "data-testid": "bot-log", "aria-live": "polite" });
  const suggestion = h("div", { class: "suggested", "data-testid": "bot-suggested" }, "（机器人还没有回复）");
  const input = h("input", { autocomplete: "off", placeholder: "把居民的话输入给机器人", "data-testid": "bot-input", maxlength: 500 });
  const send = h("button", { type: "submit", class: "primary", "data-testid": "bot-send" }, "发送");
  const form = h("form", { class: "row" }, field("居民说", input).wrap, send);
  let started = false;

  async function say(text, shown = true) {
    if (shown) log.append(h("li", { class: "me" }, text));
    const res = await run(send, () => api.bot(text, sessionId));
    if (!res) { suggestion.textContent = "（机器人暂时不可用，请直接按左侧引导办理）"; return; }
    for (const msg of res.messages) {
      if (msg.text) log.append(h("li", { class: "bot" }, msg.text));
      const custom = msg.custom || {};
      if (custom.event === "handoff") log.append(h("li", { class: "bot flag" }, "机器人建议转人工办理"));
      if (custom.event === "emergency") log.append(h("li", { class: "bot flag" }, `紧急情况：请拨打 ${custom.number}`));
    }
    suggestion.textContent = res.suggested || "（机器人没有给出下一句）";
    log.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text);
  });
  const ask = h("button", { type: "button", "data-testid": "bot-ask-matter", onclick: () => {
    const m = currentMatter();
    if (m) say(`我想办${m.name}`); else toast("请先选择事项。", "error");
  } }, "用当前事项问机器人");

  const el = h("aside", { class: "card bot-panel", hidden: true, "aria-label": "机器人对话", "data-testid": "bot-panel" },
    h("h2", {}, "机器人对话（前台渠道）"),
    h("div", { class: "suggested-wrap" }, h("div", { class: "fact-label" }, "机器人建议的下一句"), suggestion),
    log, form, h("div", { class: "row" }, ask));
  return { el, start: () => { if (!started) { started = true; say("/call_start", false); } } };
}
