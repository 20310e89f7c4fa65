"""The topic bank (`prompts/topics.yaml`): everyday situations by domain and language."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml


@dataclass(frozen=True)
class TopicBank:
    version: int
    domains: dict[str, dict[str, list[str]]]

    @classmethod
    def load(cls) -> TopicBank:
        text = resources.files("dialogsmith.prompts").joinpath("topics.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        return cls(version=int(data["version"]), domains=data["domains"])

    def draw(self, rng: np.random.Generator, language: str) -> tuple[str, str]:
        """A domain uniformly, then a topic of that domain in `language`."""
        domains = sorted(d for d, topics in self.domains.items() if topics.get(language))
        if not domains:
            raise ValueError(f"the topic bank has no {language!r} topics")
        domain = domains[int(rng.integers(len(domains)))]
        topics = self.domains[domain][language]
        return domain, topics[int(rng.integers(len(topics)))]

    def count(self, language: str) -> int:
        return sum(len(t.get(language, [])) for t in self.domains.values())
