"""Readable, stable OpenAPI operation ids: ``<tag>_<action>``.

FastAPI's default id joins the endpoint's name, the path and the method
(``chain_report_api_v1_reports_chains__chain_id__get``); generated clients turn
operation ids into method names, so they should read like ``reports_chain`` and not
change when a path does. :func:`operation_id` is the app's
``generate_unique_id_function``: the route's first tag, then the route's name (the
endpoint function's name unless the decorator gives ``name=``) without the tag's
noun, which the tag already says::

    projects   create_project   -> projects_create
    projects   change_status    -> projects_change_status
    reports    chain_report     -> reports_chain
    lists      list_list_types  -> lists_list_types
    auth       login            -> auth_login

The first word (the verb) is always kept; of the others, the last one that is the
tag or its singular is dropped. Ids are unique across the app and match
``^[a-z]+(_[a-z]+)+$`` (``tests/test_openapi.py``). The names of generated body
schemas (``Body_<id>``) follow from them too.
"""

from __future__ import annotations

from fastapi.routing import APIRoute


def _nouns(tag: str) -> set[str]:
    """The tag and its singular (``projects`` -> ``project``; ``progress`` stays)."""
    if tag.endswith("s") and not tag.endswith("ss"):
        return {tag, tag[:-1]}
    return {tag}


def operation_id(route: APIRoute) -> str:
    words = [w for w in route.name.lower().split("_") if w]
    if not route.tags:
        return "_".join(words)
    tag = str(route.tags[0]).lower().replace("-", "_")
    nouns = _nouns(tag)
    for i in range(len(words) - 1, 0, -1):
        if words[i] in nouns:
            del words[i]
            break
    return "_".join([tag, *words])
