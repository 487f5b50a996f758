"""Config model of one watch rule."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "critical"]


class RuleExamples(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: list[str] = Field(
        default_factory=list, description="texts the rule must match (first line: the title)"
    )
    no_match: list[str] = Field(default_factory=list, description="texts it must not match")


NO_EXAMPLES = RuleExamples()
"""Every rule without examples shares this one (read only): building a model per rule was two
thirds of validating 100,000 rules."""


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="the rule's id, in its alerts"
    )
    query: str = Field(
        min_length=1,
        description='what to match: words, "phrases", prefix*, topic:ID, entity:ID with '
        "AND, OR, NOT and parentheses (docs/rules.md)",
    )
    description: str = Field(default="", description="shown in the rule's alerts")
    severity: Severity = Field(default="info", description="routes and quiet hours use it")
    labels: dict[str, str] = Field(
        default_factory=dict, description="free labels, shown in alerts; routes select on them"
    )
    sinks: list[str] = Field(
        default_factory=list, description="sinks for this rule's matches, instead of the routes"
    )
    stem: bool = Field(
        default=False, description="light English stemming of its words (talks ~ talk)"
    )
    examples: RuleExamples = Field(
        default_factory=lambda: NO_EXAMPLES,
        description="checked by `wirewatch check` and `rules test`",
    )
