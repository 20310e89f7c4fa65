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


class Value(Frozen):
    sound: dict[str, str]
    notice: dict[str, str] = Field(default_factory=dict)
    openers: dict[str, list[str]] = Field(default_factory=dict)


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
NEUTRAL_VALUE: dict[str, str] = {
    name: a.neutral for name, a in TAXONOMY.attributes.items() if a.neutral is not None
}
"""The unmarked value of each turn-level attribute, used on turns that carry nothing."""
