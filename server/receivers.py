"""The server's reactions to changes of models it does not own: the user model, and sign-ins.

A user who is deactivated (`is_active` True -> False) or deleted loses every OAuth grant at
once, through `services.revoke_user_access`, whichever door made the change: the admin, a
form, a management command or `user.save()` in a shell. A bulk `QuerySet.update()` sends no
signal; for that path the protocol checks refuse an inactive user's tokens themselves
(`server.bindings`, `server.oauth2.grants`). Connected by `ServerConfig.ready`.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver

from server import services
from server.actors import Actor, current_actor
from server.oauth2 import id_tokens, logout

_DEACTIVATING = "_oauth_deactivating"


def _touches_is_active(update_fields) -> bool:
    return update_fields is None or "is_active" in update_fields


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="server.user_deactivation_seen")
def note_deactivation(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    # Only a save that writes is_active=False can deactivate; only then read the stored value
    # (one small query, on a rare save), so ordinary saves (last_login on every sign-in) cost
    # nothing.
    if raw or instance.pk is None or getattr(instance, "is_active", True):
        return
    if not _touches_is_active(update_fields):
        return
    was_active = sender._default_manager.filter(pk=instance.pk, is_active=True).exists()
    setattr(instance, _DEACTIVATING, was_active)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="server.user_deactivated")
def revoke_on_deactivation(sender, instance, created=False, raw=False, **kwargs) -> None:
    if raw or created or not instance.__dict__.pop(_DEACTIVATING, False):
        return
    services.revoke_user_access(
        instance, actor=current_actor(Actor.system("user-deactivated")), reason="user deactivated"
    )


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="server.user_deleted")
def revoke_on_deletion(sender, instance, **kwargs) -> None:
    # Before the cascade deletes the rows: the revocation is what the audit log records (and
    # what ends a token whose deletion a long-running transaction has not seen yet).
    services.revoke_user_access(
        instance, actor=current_actor(Actor.system("user-deleted")), reason="user deleted"
    )


@receiver(user_logged_in, dispatch_uid="server.oidc_auth_time")
def remember_sign_in_time(sender, request=None, user=None, **kwargs) -> None:
    """Keep the sign-in time in the session: an ID token's `auth_time`, and what `max_age` and
    `prompt=login` are judged against."""
    session = getattr(request, "session", None)
    if session is not None:
        # A sign-in form's POST carrying a password (Django's AuthenticationForm: the sign-in page,
        # the admin's) authenticated with it: amr "pwd" (RFC 8176). Any other login() (a sign-up,
        # a test's force_login) names no method.
        post = getattr(request, "POST", None) if getattr(request, "method", "") == "POST" else None
        id_tokens.record_sign_in(session, amr=["pwd"] if post and post.get("password") else ())
        # The OP session id (`sid`): kept across a re-authentication of the same session.
        logout.session_id_of(session, create=True)


@receiver(user_logged_out, dispatch_uid="server.oidc_logout")
def end_op_session(sender, request=None, user=None, **kwargs) -> None:
    """Any sign-out of a browser session (the end-session endpoint, the site's or the admin's
    sign-out) ends its OP session: the clients signed in to in it are notified by the task
    worker (Back-Channel Logout), and `user_logged_out` is recorded."""
    session = getattr(request, "session", None)
    sid = logout.session_id_of(session)
    if user is None or sid is None:
        return
    # Imported here: the bindings build the authorization server, which the receivers need not.
    from server.issuer import issuer_for
    from server.logout_views import ENDED_SESSION_ATTRIBUTE, LOGOUT_CLIENT_ATTRIBUTE

    ended = services.end_browser_session(
        sid=sid,
        user=user,
        actor=Actor.user(user),
        issuer=issuer_for(request),
        initiated_by=getattr(request, LOGOUT_CLIENT_ATTRIBUTE, None),
    )
    # For the page that follows (Front-Channel Logout: the clients it loads in iframes).
    setattr(request, ENDED_SESSION_ATTRIBUTE, ended)
