"""Saved model instances of the rows the hot paths read, as `Model.from_db` makes them.

`from_db(db, names, values)` with every concrete field's value is `Model.__init__(*values)`:
send `pre_init`, a new `ModelState`, one `setattr` per field, send `post_init`, then the state
marked saved in `db`. For a model whose class adds nothing to that (Django's own `__init__`,
`from_db` and `__setattr__`, and Django's plain attribute for each field), the same instance is
its `__dict__` filled in that order; a bearer check builds three (token, client, user). A model
that adds anything gets `from_db` itself, and so does every model while any `pre_init` or
`post_init` receiver is connected (the fields cache of the state is made on first use, as
Django's descriptor does for any instance).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

# A plain field's class attribute has no __set__; a foreign key's id's __set__ forgets the
# related object cached on the instance when the id changes, and a new instance has none.
_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


@cache
def _fills_dict(model: type[Model], attnames: tuple[str, ...]) -> bool:
    """Whether `model.from_db` with these fields (its concrete fields in order, all of them or
    some: `Model.__init__` skips a deferred field's setattr) amounts to filling a new instance's
    __dict__ (see the module's docstring)."""
    concrete = [field.attname for field in model._meta.concrete_fields]
    if [name for name in concrete if name in attnames] != list(attnames):
        return False
    if model._meta.abstract or model.__init__ is not Model.__init__:
        return False
    if model.from_db.__func__ is not Model.from_db.__func__ or model.__setattr__ is not object.__setattr__:
        return False
    return all(type(inspect.getattr_static(model, name, None)) in _PLAIN_ATTRIBUTES for name in attnames)


def saved_instances(model: type[Model], attnames: Sequence[str]) -> Callable[[str, Sequence[Any]], Model]:
    """A function of (db_alias, values) making `model.from_db(db_alias, attnames, values)`, where
    `attnames` are concrete fields' attnames in order (every field's, or some: the others
    deferred) and `values` theirs (converted from the database already)."""
    attnames = tuple(attnames)
    if not _fills_dict(model, attnames):
        return lambda db_alias, values: model.from_db(db_alias, attnames, values)

    def build(db_alias: str, values: Sequence[Any]) -> Model:
        # Any receiver, for any model, or not one value per field: Django's way.
        if pre_init.receivers or post_init.receivers or len(values) != len(attnames):
            return model.from_db(db_alias, attnames, values)
        instance = model.__new__(model)
        state = ModelState()
        state.adding = False
        state.db = db_alias
        fields = instance.__dict__
        fields["_state"] = state
        fields.update(zip(attnames, values, strict=False))  # lengths compared above
        return instance

    return build


def unsaved_instances(model: type[Model]) -> Callable[..., Model]:
    """A function of keyword values making `model(**values)`, a new unsaved instance.

    With keywords only, `Model.__init__` sets each field in order to its keyword's value or its
    default (`get_default()`, called for the missing ones only). For a model whose class adds
    nothing (as for `saved_instances`) and whose fields are its concrete columns, none a
    relation, that is its __dict__ filled in that order; any other keyword, or a connected
    `pre_init`/`post_init` receiver, gets `model(**values)` itself.
    """
    fields = tuple(model._meta.concrete_fields)
    names = frozenset(field.attname for field in fields)
    plain = (
        _fills_dict(model, tuple(field.attname for field in fields))
        and tuple(model._meta.fields) == fields
        and not any(field.is_relation or field.generated for field in fields)
    )
    if not plain:
        return model

    def build(**values: Any) -> Model:
        if pre_init.receivers or post_init.receivers or not values.keys() <= names:
            return model(**values)
        instance = model.__new__(model)
        attributes = instance.__dict__
        attributes["_state"] = ModelState()
        for field in fields:
            name = field.attname
            attributes[name] = values[name] if name in values else field.get_default()
        return instance

    return build


def copied_instance(instance: Model) -> Model:
    """`copy.copy(instance)`, without pickling's way there.

    copy.copy of a model goes through `Model.__reduce__`: `__getstate__` (a copy of __dict__
    with a copy of the state and of its fields cache, memoryviews set aside as bytes), the model
    found again by app label and name, then `__setstate__` (a pickled-version check, the
    memoryviews made again): measured on every client_credentials request, which copies its
    client (`server.hotpath.known_clients`). This makes the same __dict__ directly, less the
    Django version `__reduce__` stamps for unpickling. A model that pickles its own way gets
    `copy.copy` itself."""
    model = type(instance)
    if not _copies_as_model(model):
        return copy.copy(instance)
    attributes = instance.__dict__.copy()
    kept = attributes["_state"]
    state = kept.__class__.__new__(kept.__class__)
    state.__dict__.update(kept.__dict__)
    state.fields_cache = state.fields_cache.copy()
    attributes["_state"] = state
    for name, value in attributes.items():
        if type(value) is memoryview:  # memoryview has no subclasses
            attributes[name] = memoryview(bytes(value))
    made = model.__new__(model)
    made.__dict__.update(attributes)
    return made


_PICKLING = ("__reduce__", "__getstate__", "__setstate__")


@cache
def _copies_as_model(model: type[Model]) -> bool:
    return (
        all(getattr(model, name) is getattr(Model, name) for name in _PICKLING)
        and model.__reduce_ex__ is object.__reduce_ex__
        and getattr(model, "__copy__", None) is None
    )
