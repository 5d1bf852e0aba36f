"""Route decorators and parameter types for pages: handlers are plain
functions run in the thread pool (the services are synchronous), and forms
arrive as dicts (a field sent several times as a list)."""

from __future__ import annotations

from typing import Annotated, Any

import litestar
from litestar.enums import RequestEncodingType
from litestar.params import Body
from markupsafe import Markup

#: A submitted form: ``data: web.Form`` in a POST handler.
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: A form with a file: ``data: web.Upload`` (fields as strings, the file as an UploadFile).
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def get(path: str | list[str], **kwargs: Any) -> Any:
    """``@web.get("/path")``: a page, HTML, out of the API schema."""
    return litestar.get(path, sync_to_thread=True, include_in_schema=False, **kwargs)


def post(path: str | list[str], **kwargs: Any) -> Any:
    """``@web.post("/path")``: a form's target. Answer with a redirect on
    success (or the page again with its errors)."""
    kwargs.setdefault("status_code", 200)
    return litestar.post(path, sync_to_thread=True, include_in_schema=False, **kwargs)


def chart(svg: str, label: str) -> Markup:
    """An SVG from :mod:`crmcore.charts` for a template: labelled for screen
    readers, scaled to its container (``{{ chart }}`` in the template)."""
    from html import escape

    head, _, rest = svg.partition(">")
    return Markup(f"{head} role='img' aria-label='{escape(label, quote=True)}' class='chart'>{rest}")

