"""Build the tagger's output models from values it already knows are valid.

Why: an article yields about ten TopicTag/EntityTag objects, all built from the validated
taxonomy and gazetteer, so validating them again is wasted work; `model_construct` skips the
validation but still walks every field looking for aliases and defaults, which cost more than
a third of building the tags. `trusted` makes exactly what `model_construct(**values)` makes
when `values` names every field (tests/tagging/test_trusted.py checks it stays so).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)
_set = object.__setattr__
_new = object.__new__  # what cls.__new__ finds, without looking it up through the class
_FIELDS: dict[type, frozenset[str]] = {}  # copying a set of hashed names beats set(values)


def trusted(cls: type[Model], values: dict) -> Model:
    """`cls.model_construct(**values)`, for `values` holding every field in declared order."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = frozenset(cls.model_fields)
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
