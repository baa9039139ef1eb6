"""Serve every route from an unpacked Lambda zip, calling the handler as Lambda does.

Run as `python -I -S zip_probe.py TASK RUNTIME`: isolated and without
site-packages, it can import only the standard library, the zip's files (TASK)
and what the Lambda runtime brings (RUNTIME: boto3, botocore and their
dependencies). AWS is moto's server behind AWS_ENDPOINT_URL, Gemini the fake
behind GOOGLE_GEMINI_BASE_URL. Prints one JSON line: every route the app has,
each call's status and error code or reply, and where each module came from.
"""

import json
import os
import re
import sys
import sysconfig
from types import SimpleNamespace
from typing import Any

TASK, RUNTIME = (os.path.abspath(folder) for folder in sys.argv[1:3])
# Lambda's order: the function's code first, then the runtime's packages.
sys.path[:0] = [TASK, RUNTIME]

import app as app_module  # noqa: E402
from chalicelib.core import aws, provisioning  # noqa: E402

APP = app_module.app
CONTEXT = SimpleNamespace(aws_request_id="probe", function_name="probe", memory_limit_in_mb=512)
CHAT = {"title": "Probe", "model": "gemini-2.5-flash", "systemPrompt": "p", "temperature": 0.5}
calls: list[dict[str, Any]] = []


def call(method: str, route: str, ids: dict[str, str], body: Any = None, token: str = "") -> Any:
    """One API Gateway proxy event through the handler; returns the decoded body."""
    path = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], route)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    query = {"format": "markdown"} if route.endswith("/export") else None
    multi_query = {k: [v] for k, v in query.items()} if query else None
    event = {
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {k: v for k, v in ids.items() if f"{{{k}}}" in route} or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route,
            "httpMethod": method,
            "path": "/api" + path,
            "requestId": "probe",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = APP(event, CONTEXT)
    try:
        decoded = json.loads(response.get("body") or "null")
    except ValueError:
        decoded = response["body"]
    found = decoded if isinstance(decoded, dict) else {}
    calls.append(
        {
            "method": method,
            "route": route,
            "status": response["statusCode"],
            "code": found.get("code"),
            "reply": found.get("message") if response["statusCode"] == 200 else None,
        }
    )
    return decoded


# The stack's resources, as the template creates them on AWS.
provisioning.ensure_bucket(aws.get_s3_client(), os.environ["CONFIG_BUCKET"])
provisioning.ensure_table(aws.get_dynamodb_resource(), os.environ["SESSIONS_TABLE"])
aws.get_ssm_client().put_parameter(
    Name=os.environ["GEMINI_API_KEY_PARAMETER"], Value=sys.argv[3], Type="SecureString"
)
# The operator's token, where an operator puts it.
OPERATOR_TOKEN = "zip-operator-token"
aws.get_ssm_client().put_parameter(
    Name=os.environ["OPERATOR_TOKEN_PARAMETER"], Value=OPERATOR_TOKEN, Type="SecureString"
)

call("POST", "/create-chat", {}, {"title": ""})
chat = call("POST", "/create-chat", {}, CHAT)
session = call("POST", "/chat-session", {}, {"chatConfigId": chat["chatConfigId"]})
ids = {"chat_config_id": chat["chatConfigId"], "session_id": session["sessionId"]}
tokens = {"chat-config": chat["editToken"], "session": session["sessionToken"]}
# The fake Gemini answers these in order: a reply, a 503 then a reply (a retry), a 429.
sent = [
    call(
        "POST",
        "/session-message",
        ids,
        {"sessionId": ids["session_id"], "message": text},
        tokens["session"],
    )
    for text in ("hello", "retried", "limited")
]
# The first reply is the one the feedback routes rate (and the switch shows); the edit
# asks "retried" again, so the regeneration's reply is the same whichever runs first.
ids["message_id"] = sent[0]["reply"]["id"]
edited_id = sent[1]["userMessage"]["id"]

# A file for each owner: announced, put where its form would POST it, completed.
TEXT = b"probe knowledge"
UPLOAD = {"filename": "probe.txt", "contentType": "text/plain", "size": len(TEXT)}
file_ids = {}
for owner, path in (
    ("chat-config", "/chat-config/{chat_config_id}"),
    ("session", "/session/{session_id}"),
):
    started = call("POST", path + "/files", ids, UPLOAD, tokens[owner])
    form = started["upload"]["fields"]
    aws.get_s3_client().put_object(
        Bucket=os.environ["CONFIG_BUCKET"], Key=form["key"], Body=TEXT, ContentType="text/plain"
    )
    file_ids[owner] = started["fileId"]
    call(
        "POST",
        path + "/files/{file_id}/complete",
        {**ids, "file_id": file_ids[owner]},
        None,
        tokens[owner],
    )

# A key of the agent: the /v1 routes bear it, and it is revoked before the agent goes.
key = call(
    "POST", "/chat-config/{chat_config_id}/api-keys", ids, {"name": "probe"}, tokens["chat-config"]
)
ids |= {"key_id": key["keyId"], "model_id": ids["chat_config_id"]}
tokens["v1"] = key["apiKey"]
HELLO = [{"role": "user", "content": "hello"}]
# A share of the session: read, listed and revoked by the routes below.
shared = call("POST", "/session/{session_id}/shares", ids, {}, tokens["session"])
ids["share_id"] = shared["shareId"]

# Every other route once, deletions last so that the others find their data.
bodies = {
    ("POST", "/chat-config/{chat_config_id}/api-keys"): {"name": "probe two"},
    ("POST", "/v1/chat/completions"): {"model": ids["chat_config_id"], "messages": HELLO},
    ("POST", "/v1/responses"): {"model": ids["chat_config_id"], "input": "hello"},
    ("PUT", "/chat-config/{chat_config_id}"): CHAT,
    ("PUT", "/session/{session_id}"): CHAT,
    ("POST", "/chat-config/{chat_config_id}/files"): UPLOAD,
    ("POST", "/session/{session_id}/files"): UPLOAD,
    ("PUT", "/session/{session_id}/messages/{message_id}/feedback"): {"rating": "up"},
    ("POST", "/session/{session_id}/messages/{message_id}/edit"): {"message": "retried"},
    ("PUT", "/session/{session_id}/active"): {"messageId": ids["message_id"]},
}
routes = [(method, route) for route, methods in APP.routes.items() for method in methods]
done = {"/create-chat", "/chat-session", "/session-message"}
done |= {
    path + "/files/{file_id}/complete"
    for path in ("/chat-config/{chat_config_id}", "/session/{session_id}")
}
# A file or a key before its owner, a session before its config.
for method, route in sorted(
    routes,
    key=lambda r: (r[0] == "DELETE", "chat-config" in r[1], "/files" not in r[1], -r[1].count("{")),
):
    if route not in done:
        owner = "chat-config" if "chat-config" in route else "session"
        route_ids = {**ids, "file_id": file_ids[owner]}
        if route.endswith("/edit"):
            route_ids["message_id"] = edited_id
        token = OPERATOR_TOKEN if route.startswith("/operator") else tokens[owner]
        token = tokens["v1"] if route.startswith("/v1/") else token
        answer = call(method, route, route_ids, bodies.get((method, route)), token)
        if route.endswith("/rotate-token"):
            tokens["chat-config"] = answer["editToken"]

stdlib = os.path.abspath(sysconfig.get_paths()["stdlib"])
origins: dict[str, str] = {}
roots = {"task": TASK, "runtime": RUNTIME, "stdlib": stdlib}
for name, module in sorted(sys.modules.items()):
    where = getattr(module, "__file__", None)
    if where is None:
        origins[name] = "builtin"
        continue
    where = os.path.abspath(where)
    label = next((label for label, root in roots.items() if where.startswith(root + os.sep)), None)
    origins[name] = f"{label}:{os.path.relpath(where, roots[label])}" if label else where
print(json.dumps({"routes": sorted(routes), "calls": calls, "modules": origins}))
