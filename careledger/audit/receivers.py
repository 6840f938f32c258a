"""Signal receivers that write every change to the audited records, and every sign-in, to the trail.

Audited: every model of the ``records`` and ``access`` apps, and the user model.
A create is written with its ``after``, an update with ``before`` and ``after``
(the stored row before the save, read with one query by primary key; an update
that changes nothing is not written), a delete with ``before``. Secrets
(passwords, token digests) are never copied (:func:`~careledger.audit.trail.snapshot`).

Not audited: a package's stored status (``monitoring.PackageStatus``), a copy recomputed from
audited and append-only rows whenever the portfolio is refreshed; the alerts it raises are.

What signals do not see, the trail does not see either:

* ``QuerySet.bulk_create``, ``QuerySet.update`` and raw SQL send no signals. The
  plan rows that are bulk-created (visit patterns, outcomes, budget funding) are
  covered by the plan version created with them, which carries the whole plan
  ``document``; ``ApiToken.last_used_at`` is bookkeeping written with ``update()``; alerts
  raised in bulk by a recompute are written with :func:`trail.record_many`.
* many-to-many changes (Django's user groups and permissions, which careledger's
  roles do not use; roles are :class:`~careledger.access.models.Membership` rows,
  which are audited).

This module imports no other careledger app: it finds them by app label.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from . import trail

log = logging.getLogger(__name__)

AUDITED_APPS = frozenset({"records", "access", "auth", "monitoring", "ledger", "outcomes"})
# From the auth app only the user model: Permission and Group rows are Django's own.
AUDITED_AUTH_MODELS = frozenset({"user"})
# Followed, in this order, from a record to the row that says which council it belongs to.
COUNCIL_PATH = ("plan", "version", "service", "budget", "person")
COUNCIL_PATH_DEPTH = 4
COUNCIL_MODEL = "records.council"  # the tenant itself: its own id is its council
# Fields whose change alone is bookkeeping, written elsewhere (a sign-in entry; a token-use entry).
NOISE_FIELDS = {"auth.user": frozenset({"last_login"}), "access.apitoken": frozenset({"last_used_at"})}

_BEFORE = "_audit_before"
_DELETED = "_audit_deleted"


def model_label(model: type[models.Model]) -> str:
    return model._meta.concrete_model._meta.label_lower


# Derived rows that are recomputed from audited or append-only ones, not records anyone changes:
# a package's stored status (the portfolio's copy of what the plan, visits and ledger say) and a
# budget's ledger digest (running sums of its append-only entries).
UNAUDITED_MODELS = frozenset({"monitoring.packagestatus", "ledger.ledgerdigest"})


def is_audited(model: type[models.Model]) -> bool:
    meta = model._meta.concrete_model._meta
    if meta.auto_created:  # many-to-many through tables
        return False
    if meta.label_lower in UNAUDITED_MODELS:
        return False
    if meta.label_lower == settings.AUTH_USER_MODEL.lower():
        return True
    if meta.app_label == "auth":
        return meta.model_name in AUDITED_AUTH_MODELS
    return meta.app_label in AUDITED_APPS


def council_of(instance: models.Model) -> int | None:
    """The council a record belongs to, directly or through its parents; None if it has none."""
    try:
        return _council_of(instance, COUNCIL_PATH_DEPTH)
    except Exception:  # never let the trail stop a save over this
        log.warning("audit: no council found for %s id=%s", model_label(type(instance)), instance.pk, exc_info=True)
        return None


def _council_of(instance: models.Model | None, depth: int) -> int | None:
    if instance is None:
        return None
    if instance._meta.concrete_model._meta.label_lower == COUNCIL_MODEL:
        return instance.pk
    council_id = getattr(instance, "council_id", None)
    if council_id is not None:
        return council_id
    if depth <= 1:
        return None
    for name in COUNCIL_PATH:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if not (field.many_to_one or field.one_to_one) or not field.concrete:
            continue
        if getattr(instance, field.attname, None) is None:
            continue
        found = _council_of(getattr(instance, name), depth - 1)
        if found is not None:
            return found
    return None


# -- changes -------------------------------------------------------------------------------------


def on_pre_save(sender, instance, raw=False, using=None, update_fields=None, **kwargs) -> None:
    if not is_audited(sender):
        return
    before = None
    # Any row with a primary key may replace a stored one (a fixture row, Model(pk=…).save()).
    if instance.pk is not None:
        stored = sender._base_manager.using(using).filter(pk=instance.pk).first()
        if stored is not None:
            # Secrets are held in memory until the save is done, only to see whether they changed.
            before = (trail.snapshot(stored), {f.attname: getattr(stored, f.attname) for f in _secret_fields(sender)})
    setattr(instance, _BEFORE, before)


def _secret_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if trail.is_secret_field(f.name) or trail.is_secret_field(f.attname)]


def on_post_save(sender, instance, created, raw=False, using=None, update_fields=None, **kwargs) -> None:
    if not is_audited(sender):
        return
    label = model_label(sender)
    stashed = instance.__dict__.pop(_BEFORE, None)
    after = trail.snapshot(instance)
    if created or stashed is None:
        trail.record("create", model=label, object_id=instance.pk, council_id=council_of(instance), after=after)
        return
    before, stored_secrets = stashed
    written = None
    if update_fields is not None:
        # Only these columns were written; the rest of the row is as it was stored.
        written = set()
        for name in update_fields:
            try:
                written.add(sender._meta.get_field(name).attname)
            except FieldDoesNotExist:
                written.add(name)
        after = {key: (after[key] if key in written and key in after else value) for key, value in before.items()}
    before, after = trail.as_stored(before), trail.as_stored(after)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    for name, old in stored_secrets.items():
        if (written is None or name in written) and getattr(instance, name) != old:
            # That a password or token digest changed is written; never what it was or is.
            before[name], after[name] = trail.SECRET_MARK, trail.SECRET_CHANGED_MARK
            changed.add(name)
    if not changed or changed <= NOISE_FIELDS.get(label, frozenset()):
        return
    trail.record("update", model=label, object_id=instance.pk, council_id=council_of(instance), before=before, after=after)


def on_pre_delete(sender, instance, using=None, **kwargs) -> None:
    # Cascades delete children before parents: find the council while every row is still there.
    if not is_audited(sender):
        return
    setattr(instance, _DELETED, (council_of(instance), trail.snapshot(instance)))


def on_post_delete(sender, instance, using=None, origin=None, **kwargs) -> None:
    if not is_audited(sender):
        return
    council_id, before = instance.__dict__.pop(_DELETED, None) or (council_of(instance), trail.snapshot(instance))
    trail.record("delete", model=model_label(sender), object_id=instance.pk, council_id=council_id, before=before)


# -- sign-in -------------------------------------------------------------------------------------


def _user_label(user) -> str:
    # ``request.user`` is a lazy wrapper: its class is not the model's, its _meta is.
    return user._meta.concrete_model._meta.label_lower


def on_logged_in(sender, request, user, **kwargs) -> None:
    trail.record("sign_in", model=_user_label(user), object_id=user.pk, actor=f"user:{user.pk}")


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is None or user.pk is None:
        return
    trail.record("sign_out", model=_user_label(user), object_id=user.pk, actor=f"user:{user.pk}")


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A refused sign-in: the account's id when the name is one, never the name or password tried."""
    user_model = get_user_model()
    username = credentials.get(user_model.USERNAME_FIELD) or credentials.get("username")
    user_id = None
    if isinstance(username, str) and username:
        user_id = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
    if user_id is None:
        trail.record("sign_in_failed")
    else:
        trail.record("sign_in_failed", model=model_label(user_model), object_id=user_id)


def connect() -> None:
    """Called once from :meth:`AuditConfig.ready`: receivers for the audited models only.

    Connected per model, not for every sender, so deleting unaudited rows (sessions,
    say) keeps Django's fast path that sends no signals.
    """
    for model in apps.get_models():
        if not is_audited(model):
            continue
        pre_save.connect(on_pre_save, sender=model, dispatch_uid="careledger.audit.pre_save")
        post_save.connect(on_post_save, sender=model, dispatch_uid="careledger.audit.post_save")
        pre_delete.connect(on_pre_delete, sender=model, dispatch_uid="careledger.audit.pre_delete")
        post_delete.connect(on_post_delete, sender=model, dispatch_uid="careledger.audit.post_delete")
    user_logged_in.connect(on_logged_in, dispatch_uid="careledger.audit.sign_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="careledger.audit.sign_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="careledger.audit.sign_in_failed")
