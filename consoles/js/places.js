// Places (county / township / village) derived from the organisation directory of the staff API.
import { api } from "./api.js";

let cache = null;
export async function places() {
  if (cache) return cache;
  const res = await api.units({ department: "cunwei", level: "village", limit: 5000 });
  const towns = new Map();
  for (const u of res.items) {
    const key = `${u.county}/${u.township}`;
    if (!towns.has(key)) towns.set(key, { county: u.county, township: u.township, villages: [] });
    if (u.village && !towns.get(key).villages.includes(u.village)) towns.get(key).villages.push(u.village);
  }
  cache = [...towns.values()];
  return cache;
}

let unitCache = null;
export async function allUnits() {
  if (!unitCache) unitCache = (await api.units({ limit: 5000 })).items;
  return unitCache;
}

const unitNames = new Map();
export async function unitName(id) {
  if (!id) return "";
  if (!unitNames.has(id)) {
    unitNames.set(id, api.unit(id).then((u) => u.name).catch(() => id));
  }
  return unitNames.get(id);
}
