"""The attribute taxonomy as typed models over the versioned `taxonomy.yaml`."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["target", "event"]
Scope = Literal["speaker", "turn", "scene"]
Realiser = Literal["voice", "style", "render", "channel", "scene", "script"]
LANGUAGES = ("en", "zh")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Bound = float | None  # None: unbounded on that side


class Band(Frozen):
    """What a value means as a number against the same speaker's other turns: the band a
    listener hears it in (`heard`, the rule verification applies) and the narrower band the
    voice stage keeps its style in (`rendered`: table, emotion profile and jitter together),
    so a rendered turn lands in its heard band despite the words' own variation."""

    measure: Literal["level_delta_db", "rate_ratio"]
    heard: tuple[Bound, Bound]
    rendered: tuple[Bound, Bound]

    def contains(self, value: float, which: Literal["heard", "rendered"] = "heard") -> bool:
        low, high = getattr(self, which)
        return (low is None or value >= low) and (high is None or value <= high)

    def clamp(self, value: float) -> float:
        low, high = self.rendered
        value = value if low is None else max(value, low)
        return value if high is None else min(value, high)


class Value(Frozen):
    sound: dict[str, str]
    notice: dict[str, str] = Field(default_factory=dict)
    openers: dict[str, list[str]] = Field(default_factory=dict)
    band: Band | None = None


class Attribute(Frozen):
    name: str = ""
    kind: Kind
    group: str
    scope: Scope
    realised_by: Realiser
    neutral: str | None = None
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES))
    values: dict[str, Value]

    @model_validator(mode="after")
    def _consistent(self) -> Attribute:
        if self.neutral is not None and self.neutral not in self.values:
            raise ValueError(f"{self.name}: neutral value {self.neutral!r} is not a value")
        if self.kind == "target":
            silent = [v for v, value in self.values.items() if not any(value.openers.values())]
            if silent:
                raise ValueError(f"{self.name}: target values without openers: {silent}")
        return self

    def value_names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def openers(self, value: str, language: str) -> list[str]:
        found = self.values[value].openers.get(language)
        if not found:
            raise KeyError(f"{self.name}={value} has no {language!r} openers in taxonomy.yaml")
        return found


class Taxonomy(Frozen):
    version: int
    groups: list[str]
    attributes: dict[str, Attribute]

    @model_validator(mode="after")
    def _groups_known(self) -> Taxonomy:
        for name, attribute in self.attributes.items():
            if attribute.group not in self.groups:
                raise ValueError(f"{name}: unknown group {attribute.group!r}")
        return self

    def targets(self) -> list[str]:
        return [n for n, a in self.attributes.items() if a.kind == "target"]

    def events(self) -> list[str]:
        return [n for n, a in self.attributes.items() if a.kind == "event"]

    def __getitem__(self, name: str) -> Attribute:
        try:
            return self.attributes[name]
        except KeyError:
            raise KeyError(
                f"unknown attribute {name!r}; the taxonomy has {sorted(self.attributes)}"
            ) from None


@cache
def load_taxonomy() -> Taxonomy:
    text = resources.files("dialogsmith").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for name, attribute in data["attributes"].items():
        attribute["name"] = name
    return Taxonomy.model_validate(data)


TAXONOMY = load_taxonomy()
TARGET_ATTRIBUTES: tuple[str, ...] = tuple(TAXONOMY.targets())
EVENT_KINDS: tuple[str, ...] = tuple(TAXONOMY.events())
ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    name: attribute.value_names() for name, attribute in TAXONOMY.attributes.items()
}


def band(attribute: str, value: str) -> Band | None:
    """The written meaning of `attribute=value` as a measurable band (taxonomy.yaml)."""
    return TAXONOMY[attribute].values[value].band


def heard_value(attribute: str, measured: float) -> str | None:
    """The value whose heard band holds `measured`; None between bands or without bands."""
    for value, spec in TAXONOMY[attribute].values.items():
        if spec.band is not None and spec.band.contains(measured):
            return value
    return None


NEUTRAL_VALUE: dict[str, str] = {
    name: a.neutral for name, a in TAXONOMY.attributes.items() if a.neutral is not None
}
"""The unmarked value of each turn-level attribute, used on turns that carry nothing."""
