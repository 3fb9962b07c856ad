"""`{% load console_dashboard %}`: templates link to the dashboard only for those who may open it."""

from django import template

from oauth_console.dashboard import access

register = template.Library()


@register.filter
def may_open_dashboard(user) -> bool:
    """`{% if request.user|may_open_dashboard %}`: the dashboard view's own rule."""
    return user is not None and access.may_open_dashboard(user)
