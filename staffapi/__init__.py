"""Staff API (aiohttp): the HTTP face of work orders and the catalogue for the web consoles.

app.py (routes, auth, errors, the bot relay), apischema.py (request schemas + the OpenAPI parts),
catalogue_routes.py (the read-only catalogue API, mounted by app.py), scheduler_glue.py (runs the
deadline watcher inside the app). Domain code stays in workorders/ and catalogue/; this package is the
only place they meet aiohttp.
"""
