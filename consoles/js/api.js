// Staff API client: bearer token in sessionStorage; every read and write goes through /api/.
const TOKEN_KEY = "govdesk.token";
const USER_KEY = "govdesk.user";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get user() {
    try { return JSON.parse(sessionStorage.getItem(USER_KEY) || "null"); } catch { return null; }
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

async function request(method, path, { body, query, raw, blob } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (blob !== undefined) headers["Content-Type"] = blob.type || "application/octet-stream";
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: blob !== undefined ? blob : body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "网络连接失败，请检查网络后重试。");
  }
  if (raw && resp.ok) return resp;
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    if (resp.status === 401 && path !== "/api/login") onUnauthorized();
    const message = (data && (data.message || data.error)) || `请求失败（${resp.status}）`;
    throw new ApiError(resp.status, data && data.error, message, data && data.details);
  }
  return data;
}

export const api = {
  login: (username, password) => request("POST", "/api/login", { body: { username, password } }),
  me: () => request("GET", "/api/me"),
  searchMatters: (q, k = 5) => request("GET", "/api/catalogue/search", { query: { q, k } }),
  matter: (id) => request("GET", `/api/catalogue/matters/${encodeURIComponent(id)}`),
  createOrder: (payload) => request("POST", "/api/orders", { body: payload }),
  correctOrder: (id, payload) => request("POST", `/api/orders/${encodeURIComponent(id)}/correct`, { body: payload }),
  orders: (query) => request("GET", "/api/orders", { query }),
  order: (id) => request("GET", `/api/orders/${encodeURIComponent(id)}`),
  events: (id) => request("GET", `/api/orders/${encodeURIComponent(id)}/events`),
  action: (id, action, body = {}) =>
    request("POST", `/api/orders/${encodeURIComponent(id)}/actions/${encodeURIComponent(action)}`, { body }),
  supervision: (limit = 200) => request("GET", "/api/supervision", { query: { limit } }),
  kpi: (query) => request("GET", "/api/kpi", { query }),
  hotspots: (weeks = 8) => request("GET", "/api/hotspots", { query: { weeks } }),
  hotspotsCsv: (weeks = 8) => request("GET", "/api/hotspots", { query: { weeks, format: "csv" }, raw: true }),
  units: (query) => request("GET", "/api/directory/units", { query }),
  unit: (id) => request("GET", `/api/directory/units/${encodeURIComponent(id)}`),
  queue: () => request("GET", "/api/queue"),
  takeTicket: (window, elderly = false) => request("POST", "/api/queue/tickets", { body: { window, elderly } }),
  callNext: (window) => request("POST", "/api/queue/call", { body: { window } }),
  uploadMaterial: (id, item, blob) => request("POST", `/api/orders/${encodeURIComponent(id)}/materials`, { query: { item }, blob }),
  uploadSignature: (id, blob) => request("POST", `/api/orders/${encodeURIComponent(id)}/signature`, { blob }),
  attachment: (id, name) => request("GET", `/api/orders/${encodeURIComponent(id)}/attachments/${encodeURIComponent(name)}`, { raw: true }),
  rateDesk: (id, level) => request("POST", `/api/orders/${encodeURIComponent(id)}/desk-rating`, { body: { level } }),
  bot: (message, sessionId) => request("POST", "/api/bot/message", { body: { message, session: sessionId } }),
};
