"""12345 work orders: model, lifecycle, Redis store, hash chain, deadlines, KPIs and the staff API.

The one write path is `workorders.service.WorkOrderService`; everything else (staff API, bot
actions, consoles, scheduler) goes through it.
"""
