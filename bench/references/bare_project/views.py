"""The two floor views: one indexed SELECT, one INSERT, each answering a small JSON body."""

import secrets

from bareapp.models import Item
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST


@require_GET
def select(request):
    row = Item.objects.filter(key=request.GET.get("key", "")).values("id", "owner", "scope").first()
    if row is None:
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse(row)


@csrf_exempt
@require_POST
def insert(request):
    item = Item.objects.create(key=secrets.token_hex(32), owner="bench", scope="read")
    return JsonResponse({"id": item.pk}, status=201)
