"""`{% console_result_list cl %}`: Django's `{% result_list cl %}`, its rows rendered by
`oauth_console.admin_rows` for the model admins that opt in (FastRowsMixin). Same template
(admin/change_list_results.html, overridable per app and model as Django's)."""

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from oauth_console.admin_rows import fast_result_list

register = template.Library()


@register.tag(name="console_result_list")
def console_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=fast_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
