"""The unit directory (read-only): GET /api/directory/units?department=&level=&place_id=, /api/directory/units/{id}.
"""
from __future__ import annotations

import logging

from staffapi import apischema
from staffapi.base import SVC, ok, requires
from workorders.model import WorkOrderError

log = logging.getLogger(__name__)


def _directory(request):
    d = request.app[SVC].directory
    if d is None:
        raise WorkOrderError("directory_unavailable", "单位名录暂不可用。", 503, retry_after=60)
    return d


@requires()
async def directory_units(request):
    q = apischema.parse_query(apischema.UNITS_QUERY, request.query)
    d = _directory(request)
    if hasattr(d, "find"):
        try:
            units = d.find(department=q["department"], level=q["level"])
        except ValueError as exc:  # DirectoryError: unknown level (the schema already checks it)
            raise WorkOrderError("bad_query", f"参数不正确：{exc}", 400) from None
    else:
        units = list(d.units)
    if q["place_id"]:
        units = [u for u in units if u.place_id == q["place_id"]]
    return ok({"total": len(units), "items": [u.to_dict() for u in units[:q["limit"]]]})


@requires()
async def directory_unit(request):
    unit = _directory(request).get(request.match_info["unit_id"])
    if unit is None:
        raise WorkOrderError("unit_not_found", f"找不到单位 {request.match_info['unit_id']}。", 404)
    return ok(unit.to_dict())
