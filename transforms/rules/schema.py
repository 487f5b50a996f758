"""Config model of one watch rule."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "critical"]


class RuleExamples(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    query: str = Field(min_length=1)
    description: str = ""
    severity: Severity = "info"
    labels: dict[str, str] = Field(default_factory=dict)
    sinks: list[str] = Field(default_factory=list)
    stem: bool = False
    examples: RuleExamples = Field(default_factory=RuleExamples)
