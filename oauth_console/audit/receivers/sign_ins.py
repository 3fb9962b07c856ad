"""Sign-ins, from `django.contrib.auth` (operators, end users, and failed attempts)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from oauth_console.audit import recorder
from oauth_console.audit.models import ActorKind, EventType, Outcome
from oauth_console.audit.receivers.common import guarded, user_fields


@receiver(user_logged_in, dispatch_uid="audit.user_logged_in")
@guarded
def on_user_logged_in(sender, request=None, user=None, **kwargs) -> None:
    operator = bool(getattr(user, "is_staff", False))
    username = user.get_username()
    recorder.record(
        EventType.OPERATOR_LOGIN if operator else EventType.USER_LOGIN,
        request=request,
        actor_kind=ActorKind.OPERATOR if operator else ActorKind.USER,
        actor_label=f"{'operator' if operator else 'user'}:{username}",
        detail={"path": getattr(request, "path", "")},
        **user_fields(user),
    )


@receiver(user_login_failed, dispatch_uid="audit.user_login_failed")
@guarded
def on_user_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    # Django hands us the credentials with the password already masked; keep only the name.
    username = str((credentials or {}).get("username", ""))[:150]
    recorder.record(
        EventType.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        request=request,
        actor_kind=ActorKind.ANONYMOUS,
        actor_label="anonymous",
        username=username,
        detail={"path": getattr(request, "path", "")},
    )
