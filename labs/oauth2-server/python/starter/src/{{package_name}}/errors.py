"""OAuth errors (RFC 6749 section 5.2 and 4.1.2.1)."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class OAuthError(Exception):
    """An error answered with an RFC 6749 `error` code.

    `status` is the HTTP status for JSON answers (token, introspection, revocation
    endpoints); the authorization endpoint sends most errors back to the client's
    redirect URI instead (see authorize.py).
    """

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


def error_response(exc: OAuthError) -> JSONResponse:
    """An error of the token, introspection or revocation endpoint, as JSON.

    A failed client authentication is 401 with a `WWW-Authenticate` challenge for the
    scheme the server accepts (RFC 6749 section 5.2); everything else uses `exc.status`.
    """
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
