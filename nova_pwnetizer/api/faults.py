"""Nova's fault bodies, for the answers of the project's API middleware."""

import json

import webob

_FAULT_NAMES = {
    400: 'badRequest',
    403: 'forbidden',
    404: 'itemNotFound',
    409: 'conflictingRequest',
}


def json_response(code: int, body: dict) -> webob.Response:
    response = webob.Response(status=code, content_type='application/json',
                              charset='UTF-8')
    response.text = json.dumps(body)
    return response


def fault_response(code: int, message: str) -> webob.Response:
    """A Nova fault body: ``{"badRequest": {"code": 400, "message": ...}}``."""
    body = {_FAULT_NAMES.get(code, 'computeFault'): {'code': code, 'message': message}}
    return json_response(code, body)
