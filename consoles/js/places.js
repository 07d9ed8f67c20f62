// Places (county / township / village) and unit names, from the organisation directory of the staff
// API. Each list is fetched at most once per page load: concurrent callers share the same request.
import { api } from "./api.js";

let townsPromise = null;
export function places() {
  if (!townsPromise) {
    townsPromise = api.units({ department: "cunwei", level: "village", limit: 5000 }).then((res) => {
      const towns = new Map();
      for (const u of res.items) {
        const key = `${u.county}/${u.township}`;
        if (!towns.has(key)) towns.set(key, { county: u.county, township: u.township, villages: [] });
        if (u.village && !towns.get(key).villages.includes(u.village)) towns.get(key).villages.push(u.village);
      }
      return [...towns.values()];
    });
    townsPromise.catch(() => { townsPromise = null; });  // a failed load is tried again next time
  }
  return townsPromise;
}

let unitsPromise = null;
export function allUnits() {
  if (!unitsPromise) {
    unitsPromise = api.units({ limit: 5000 }).then((res) => res.items);
    unitsPromise.catch(() => { unitsPromise = null; });
  }
  return unitsPromise;
}

// A unit's Chinese name from the one directory list (the id itself when the unit is unknown).
export async function unitName(id) {
  if (!id) return "";
  try {
    const unit = (await allUnits()).find((u) => u.id === id);
    return unit ? unit.name : id;
  } catch {
    return id;
  }
}
