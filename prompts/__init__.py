"""Prompt templates (Jinja2), few-shot examples and the topic bank, shipped as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (Mandarin)"}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dialogsmith.prompts", ""),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context).strip()


def templates() -> list[str]:
    return _environment().list_templates(extensions=["j2"])


@cache
def examples() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """group -> language -> hand-written example dialogues (prompts/examples.yaml)."""
    text = resources.files("dialogsmith.prompts").joinpath("examples.yaml").read_text("utf-8")
    return yaml.safe_load(text)["groups"]
