// Browser mirror of textnorm/idcard.py and textnorm/phone.py (same rules, same order of checks,
// same Chinese reasons) so the clerk sees mistakes while typing. The server stays authoritative.
export const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
export const CHECK_CHARS = "10X98765432";
const PROVINCES = new Set(("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 " +
  "50 51 52 53 54 61 62 63 64 65 71 81 82").split(" "));
export const MOBILE_RE = /^1[3-9]\d{9}$/;

// A Chinese IME types full-width digits and letters (１３８, Ｘ) and ideographic spaces: read them as
// the half-width characters the clerk meant before any check.
export function halfWidth(text) {
  return String(text || "").replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
    .replace(/\u3000/g, " ");
}

export function checkChar(first17) {
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[s % 11];
}

function birthDate(n) {
  const y = Number(n.slice(6, 10)), m = Number(n.slice(10, 12)), d = Number(n.slice(12, 14));
  const date = new Date(y, m - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== m - 1 || date.getDate() !== d) return null;
  return date;
}

export function ageOn(born, today) {
  let age = today.getFullYear() - born.getFullYear();
  if (today.getMonth() < born.getMonth() ||
      (today.getMonth() === born.getMonth() && today.getDate() < born.getDate())) age -= 1;
  return age;
}

// -> {ok, value, reason, message, age}
export function validateIdNumber(text, today = new Date(), maxAge = 120) {
  const n = halfWidth(text).replace(/\s+/g, "").toUpperCase();
  const fail = (reason, message) => ({ ok: false, value: n, reason, message });
  if (n.length !== 18) return fail("位数不对", `身份证号是18位，现在是${n.length}位。`);
  if (!/^\d{17}[\dX]$/.test(n)) return fail("只能是数字，最后一位可以是叉", "号码只能是数字，最后一位可以是X。");
  if (!PROVINCES.has(n.slice(0, 2))) return fail("前两位地区不对", "号码开头两位（地区）不对。");
  const born = birthDate(n);
  if (!born || born > today || (maxAge !== null && ageOn(born, today) > maxAge)) {
    return fail("出生日期不对", "号码里的出生日期不对。");
  }
  const expected = checkChar(n.slice(0, 17));
  if (expected !== n[17]) return fail("最后一位校验不对", "最后一位校验不对，请逐位核对号码（可能有一位输错）。");
  return { ok: true, value: n, reason: "", message: "", age: ageOn(born, today), born };
}

export function validatePhone(text) {
  let n = halfWidth(text).replace(/[\s-]/g, "");
  if (n.startsWith("+86")) n = n.slice(3);
  else if (n.length === 13 && n.startsWith("86")) n = n.slice(2);
  if (!/^\d*$/.test(n)) return { ok: false, value: n, reason: "位数不对", message: "手机号只能是数字。" };
  if (n.length !== 11) return { ok: false, value: n, reason: "位数不对", message: `手机号是11位，现在是${n.length}位。` };
  if (!MOBILE_RE.test(n)) return { ok: false, value: n, reason: "手机号开头不对", message: "手机号要1开头，第二位是3到9。" };
  return { ok: true, value: n, reason: "", message: "" };
}
