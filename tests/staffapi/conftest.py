"""The staff API tests use the work-order fixtures (real Redis, own key prefix, controllable clock)."""
import pytest
from blockbuster import blockbuster_ctx

from tests.workorders.conftest import aredis, clock, prefix, svc  # noqa: F401 - pytest fixtures


@pytest.fixture(autouse=True)
def no_blocking_calls_in_the_loop():
    """Any blocking call (file, socket, sleep) made inside the event loop fails the test (blockbuster)."""
    with blockbuster_ctx(scanned_modules=["staffapi", "workorders", "catalogue", "common", "textnorm"]) as bb:
        for function in bb.functions.values():
            function.can_block_in("staffapi/app.py", "create_app")  # building the app, once, before serving
            # aiohttp 3.9 (pinned by Rasa) resolves static file paths inside the loop; fixed upstream in 3.10.
            function.can_block_in("aiohttp/web_urldispatcher.py", "_handle")
        yield bb
