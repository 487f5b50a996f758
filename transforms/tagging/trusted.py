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
_new = object.__new__  # what cls.__new__ finds, without looking it up through the class
# Per class: the set of its field names, and the setters of the four slots model_construct
# fills. A descriptor's bound __set__ is what object.__setattr__ ends up calling, without the
# name lookup and the argument tuple: a sixth of what building a tag cost. Every model of a
# class shares that one fields set (building a set per tag was another third): nothing
# changes it, since the models are frozen and pydantic's model_copy copies it before adding
# the fields it updates.
_PLANS: dict[type, tuple] = {}
_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def trusted(cls: type[Model], values: dict) -> Model:
    """`cls.model_construct(**values)`, for a frozen model and `values` holding every field in
    declared order."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    fields, set_dict, set_fields, set_extra, set_private = plan
    model = _new(cls)
    set_dict(model, values)
    set_fields(model, fields)
    set_extra(model, None)
    set_private(model, None)
    return model


def _plan(cls: type) -> tuple:
    if not cls.model_config.get("frozen"):  # the shared fields set needs it
        raise TypeError(f"trusted() builds frozen models only, not {cls.__name__}")

    def setter(name: str):
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        return vars(owner)[name].__set__

    return (set(cls.model_fields), *map(setter, _SLOTS))
