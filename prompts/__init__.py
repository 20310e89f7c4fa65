"""Prompt templates (Jinja2) and the reaction table, shipped as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dialogsmith.prompts", ""),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context).strip()


@cache
def reactions() -> dict[str, dict[str, dict[str, Any]]]:
    """attribute -> value -> {sound, notice, openers}."""
    text = resources.files("dialogsmith.prompts").joinpath("reactions.yaml").read_text()
    return yaml.safe_load(text)
