"""Where the smoke suite's bearer token comes from; ``obtain_token(env)`` is the one entry point.

In order of precedence:
  SMOKE_TOKEN                a ready token
  SMOKE_TOKEN_COMMAND        a shell command whose last non-empty stdout line is the token
                             (locally: ``node local/token.ts``)
  SMOKE_TOKEN_URL + SMOKE_CLIENT_ID + a client secret
                             an OAuth2 client-credentials grant (the Cognito user pool's /oauth2/token),
                             asking for SMOKE_SCOPES (default "users/read users/write"); the secret is
                             SMOKE_CLIENT_SECRET, or is fetched as SMOKE_CLIENT_SECRET_SOURCE says:
                             "<scheme>:<reference>", resolved by CLIENT_SECRET_SOURCES[scheme].

To fetch the secret another way (for instance describe_user_pool_client after assuming a role in
the pipeline), register a resolver: ``CLIENT_SECRET_SOURCES["cognito"] = resolve_from_cognito``,
a function of (reference, env) returning the secret.

In the pipeline (and against a sandbox) the secret comes from the stage's user pool: with
SMOKE_ROLE_ARN and SMOKE_USER_POOL_ID set and no secret given, the suite assumes that role (the
stage's read-only smoke role) and reads the machine client's secret with DescribeUserPoolClient,
through the "cognito" source ("cognito:<user pool id>").
"""

from __future__ import annotations

import base64
import importlib
import json
import shlex
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

DEFAULT_SCOPES = "users/read users/write"
COMMAND_TIMEOUT_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 10


class TokenError(RuntimeError):
    """No token could be had; the message says which setting to fix."""


SecretResolver = Callable[[str, Mapping[str, str]], str]
CLIENT_SECRET_SOURCES: dict[str, SecretResolver] = {}

# (url, form fields, headers) -> (status, body)
FormPoster = Callable[[str, Mapping[str, str], Mapping[str, str]], tuple[int, bytes]]
CommandRunner = Callable[[str], subprocess.CompletedProcess[str]]


def run_shell(command: str) -> subprocess.CompletedProcess[str]:
    # SMOKE_TOKEN_COMMAND is a shell command line by design: the operator configures it in the pipeline.
    return subprocess.run(  # noqa: S602
        command, shell=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
    )


def post_form(url: str, fields: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=urlencode(dict(fields)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def token_from_command(command: str, run: CommandRunner = run_shell) -> str:
    result = run(command)
    if result.returncode != 0:
        raise TokenError(
            f"SMOKE_TOKEN_COMMAND `{command}` exited {result.returncode}: "
            + (result.stderr.strip() or result.stdout.strip())
        )
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise TokenError(f"SMOKE_TOKEN_COMMAND `{command}` printed nothing")
    return lines[-1]


def resolve_client_secret(env: Mapping[str, str]) -> str:
    secret = env.get("SMOKE_CLIENT_SECRET", "")
    if secret:
        return secret
    source = env.get("SMOKE_CLIENT_SECRET_SOURCE", "")
    if not source:
        raise TokenError("client credentials need SMOKE_CLIENT_SECRET or SMOKE_CLIENT_SECRET_SOURCE")
    scheme, _, reference = source.partition(":")
    resolver = CLIENT_SECRET_SOURCES.get(scheme)
    if resolver is None:
        known = ", ".join(sorted(CLIENT_SECRET_SOURCES)) or "none registered"
        raise TokenError(f"SMOKE_CLIENT_SECRET_SOURCE scheme {scheme!r} is unknown (known: {known})")
    return resolver(reference, env)


SMOKE_ROLE_SESSION_NAME = "users-service-smoke"


def _runs_as(identity_arn: str, role_arn: str) -> bool:
    """Whether the caller (arn:...:sts::<account>:assumed-role/<name>/<session>) is the role already,
    as when an AWS profile with role_arn assumed it for the whole run."""
    identity = identity_arn.split(":")
    role = role_arn.split(":")
    if len(identity) < 6 or len(role) < 6 or identity[4] != role[4]:
        return False
    kind, _, rest = identity[5].partition("/")
    return kind == "assumed-role" and rest.split("/")[0] == role[5].rsplit("/", 1)[-1]


def role_session(role_arn: str, region: str) -> Any:
    """A boto3 session running as `role_arn`: the current one when it already is that role, else
    one with credentials from sts:AssumeRole."""
    boto3 = importlib.import_module("boto3")  # only the AWS mode needs it
    session = boto3.Session(region_name=region)
    sts = session.client("sts")
    if _runs_as(sts.get_caller_identity()["Arn"], role_arn):
        return session
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=SMOKE_ROLE_SESSION_NAME)["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


SessionFactory = Callable[[str, str], Any]


def secret_from_cognito(
    user_pool_id: str, env: Mapping[str, str], session_factory: SessionFactory | None = None
) -> str:
    """The machine client's secret, read from the user pool as the role SMOKE_ROLE_ARN."""
    role_arn = env.get("SMOKE_ROLE_ARN", "")
    client_id = env.get("SMOKE_CLIENT_ID", "")
    if not role_arn or not client_id or "_" not in user_pool_id:
        raise TokenError(
            "the cognito secret source needs SMOKE_ROLE_ARN, SMOKE_CLIENT_ID and a user pool id "
            f"(<region>_<id>), got {user_pool_id!r}"
        )
    region = user_pool_id.split("_", 1)[0]
    session = (session_factory or role_session)(role_arn, region)
    try:
        response = session.client("cognito-idp", region_name=region).describe_user_pool_client(
            UserPoolId=user_pool_id, ClientId=client_id
        )
        secret = response["UserPoolClient"]["ClientSecret"]
    except Exception as error:  # botocore's errors, without importing botocore here
        raise TokenError(f"could not read the client secret of {client_id} as {role_arn}: {error}") from None
    if not isinstance(secret, str) or not secret:
        raise TokenError(f"user pool client {client_id} has no secret")
    return secret


CLIENT_SECRET_SOURCES["cognito"] = secret_from_cognito


def token_from_client_credentials(env: Mapping[str, str], post: FormPoster = post_form) -> str:
    client_id = env.get("SMOKE_CLIENT_ID", "")
    if not client_id:
        raise TokenError("SMOKE_TOKEN_URL is set but SMOKE_CLIENT_ID is not")
    secret = resolve_client_secret(env)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    fields = {"grant_type": "client_credentials", "scope": env.get("SMOKE_SCOPES", "") or DEFAULT_SCOPES}
    status, body = post(env["SMOKE_TOKEN_URL"], fields, {"Authorization": f"Basic {basic}"})
    if status != 200:
        raise TokenError(f"token endpoint answered {status}: {body[:300]!r}")
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise TokenError(f"token endpoint answered without an access_token: {body[:300]!r}") from None
    if not isinstance(token, str) or not token:
        raise TokenError("token endpoint answered an empty access_token")
    return token


def obtain_token(env: Mapping[str, str], *, run: CommandRunner = run_shell, post: FormPoster = post_form) -> str:
    """The bearer token for the run, from the first configured source (see the module docstring)."""
    if env.get("SMOKE_TOKEN", ""):
        return env["SMOKE_TOKEN"].strip()
    if env.get("SMOKE_TOKEN_COMMAND", ""):
        return token_from_command(env["SMOKE_TOKEN_COMMAND"], run)
    if env.get("SMOKE_TOKEN_URL", ""):
        if (
            env.get("SMOKE_ROLE_ARN", "")
            and env.get("SMOKE_USER_POOL_ID", "")
            and not env.get("SMOKE_CLIENT_SECRET", "")
            and not env.get("SMOKE_CLIENT_SECRET_SOURCE", "")
        ):
            env = {**env, "SMOKE_CLIENT_SECRET_SOURCE": f"cognito:{env['SMOKE_USER_POOL_ID']}"}
        return token_from_client_credentials(env, post)
    raise TokenError(
        "no token source: set SMOKE_TOKEN, SMOKE_TOKEN_COMMAND (e.g. "
        + shlex.quote("node local/token.ts")
        + ") or SMOKE_TOKEN_URL with SMOKE_CLIENT_ID and a client secret"
    )
