"""OAuth connect flow routes (owned by the OAuth work): /v1/oauth-connect, /callbacks/v1/oauth,
connections:oauth-update."""

from fastapi import APIRouter

router = APIRouter()
