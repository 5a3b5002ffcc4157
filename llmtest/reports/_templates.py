"""The one jinja2 environment both HTML reports render through, so every value a template
prints is escaped unless our own code marked it safe.

jinja2 is imported on the first render, not on ``import llmtest``: pytest start-up and the
CLI's other commands never pay for it. A package's ``templates/`` folder is searched first,
then this one, which holds ``base.html.j2`` (the page skeleton every report extends) and
``report.css`` (the shared style sheet).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from llmtest._text import plural
from llmtest.reports.format import (
    format_cost,
    format_count,
    format_ms,
    format_rate,
    format_ratio,
    format_score,
    truncate,
)

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: no script, no network, no external resource, so
even a value that slipped past escaping could run nothing."""

_HOME = "llmtest.reports"


@functools.cache
def environment(package: str = _HOME) -> jinja2.Environment:
    """The environment for ``package``'s templates (which may extend this package's)."""
    import jinja2
    from markupsafe import Markup

    loaders = [jinja2.PackageLoader(package, "templates")]
    if package != _HOME:
        loaders.append(jinja2.PackageLoader(_HOME, "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        rate=format_rate,
        ms=format_ms,
        count=format_count,
        cost=format_cost,
        score=format_score,
        ratio=format_ratio,
        coord=_coord,
        clip=truncate,
        plural=plural,
    )
    env.globals.update(csp=Markup(CSP), stylesheet=functools.partial(_inline, env))
    return env


def _coord(value: float) -> str:
    """An SVG coordinate: a tenth of a unit is finer than any screen shows."""
    return f"{value:.1f}"


def _inline(env: jinja2.Environment, name: str) -> Markup:
    """A package file's text, to inline in ``<style>``: the page stays one file."""
    from markupsafe import Markup

    assert env.loader is not None
    text = env.loader.get_source(env, name)[0]
    if "</" in text:
        raise ValueError(f"{name} must not contain '</': it would end the <style> element")
    return Markup(text)


def render(package: str, template: str, **context: Any) -> str:
    """``template`` of ``package``'s ``templates/`` folder, rendered with ``context``."""
    return environment(package).get_template(template).render(**context)
