"""Provider apps routes (owned by the OAuth work): the developer's OAuth client per provider."""

from fastapi import APIRouter

router = APIRouter()
