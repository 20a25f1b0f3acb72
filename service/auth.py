from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from config import ApiClient, ConfigError, ExternalAuth


def resource_server_scopes(read_scope: str, write_scope: str) -> tuple[str, str, str]:
    """The resource server and the two scope names of `<server>/<read>` and `<server>/<write>`,
    as Cognito names scopes; anything else is refused, naming the scopes."""
    parts = [scope.split("/") for scope in (read_scope, write_scope)]
    if any(len(part) != 2 or not all(part) for part in parts) or parts[0][0] != parts[1][0]:
        raise ValueError(
            f"the contract's scopes must be <resource server>/<name> with one resource server, "
            f"not {read_scope!r} and {write_scope!r}"
        )
    return parts[0][0], parts[0][1], parts[1][1]


class ApiAuthorization(Construct):
    """Who may call the API: a JWT issuer, its accepted audiences, and the scopes it grants.

    By default each stage runs its own Cognito user pool with the contract's resource server (the
    `users` of `users/read` and `users/write`) and a machine-to-machine client (client-credentials
    grant) for smoke tests and back-office callers.
    A stage may instead trust an external OIDC issuer, in which case no pool is created.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_id: str,
        service_name: str,
        read_scope: str,
        write_scope: str,
        external: ExternalAuth | None,
        clients: Sequence[ApiClient] = (),
        clients_config_key: str = "auth.clients",
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool: cognito.UserPool | None = None
        self.machine_client: cognito.UserPoolClient | None = None
        self.token_url: str | None = None
        if external is not None:
            self.issuer_url = external.issuer_url
            self.audience = list(external.audience)
            return

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(1),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.NONE,
            deletion_protection=removal_policy is RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        identifier, read_name, write_name = resource_server_scopes(read_scope, write_scope)
        read = cognito.ResourceServerScope(scope_name=read_name, scope_description="Read users")
        write = cognito.ResourceServerScope(scope_name=write_name, scope_description="Write users")
        resource_server = self.user_pool.add_resource_server(
            "ResourceServer", identifier=identifier, scopes=[read, write]
        )
        self.machine_client = self.user_pool.add_client(
            "MachineClient",
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(resource_server, read),
                    cognito.OAuthScope.resource_server(resource_server, write),
                ],
            ),
            access_token_validity=Duration.minutes(60),
            prevent_user_existence_errors=True,
        )
        # The hosted domain prefix is one global name space across all AWS accounts. Service,
        # stage id and account make it unique (a sandbox in dev's account is its own stage id) and
        # stable: it only changes when one of them does, and a change replaces the domain, which
        # fails while the old domain still holds the prefix. tests/stateful-resources.json records
        # it, so such a change fails `make test` first.
        domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"{service_name}-{stage_id}-{Stack.of(self).account}"
            ),
        )
        granted = {read_scope: read, write_scope: write}
        self.clients: dict[str, cognito.UserPoolClient] = {}
        for index, client in enumerate(clients):
            for requested in client.scopes:
                if requested not in granted:
                    raise ConfigError(
                        f"{clients_config_key}[{index}].scopes",
                        requested,
                        f"the API grants only {', '.join(granted)}",
                    )
            self.clients[client.name] = self._add_client(
                resource_server, client, [granted[requested] for requested in client.scopes]
            )
        region = Stack.of(self).region
        self.issuer_url = f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool.user_pool_id}"
        # The authorizer accepts a token whose client is any of these: adding a caller is config.
        self.audience = [
            self.machine_client.user_pool_client_id,
            *(app_client.user_pool_client_id for app_client in self.clients.values()),
        ]
        self.token_url = f"{domain.base_url()}/oauth2/token"

    def _add_client(
        self,
        resource_server: cognito.UserPoolResourceServer,
        client: ApiClient,
        scopes: Sequence[cognito.ResourceServerScope],
    ) -> cognito.UserPoolClient:
        """A service gets the client-credentials grant and a secret; an app that signs users in
        (it has callback URLs) gets the authorization code grant, which Cognito runs with PKCE for
        a client without a secret, since a browser cannot keep one."""
        if self.user_pool is None:
            raise ValueError("clients are registered in the stage's own user pool, and an external issuer has none")
        oauth_scopes = [cognito.OAuthScope.resource_server(resource_server, scope) for scope in scopes]
        signs_users_in = bool(client.callback_urls)
        return self.user_pool.add_client(
            f"Client-{client.name}",
            user_pool_client_name=client.name,
            generate_secret=not signs_users_in,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(
                    authorization_code_grant=signs_users_in, client_credentials=not signs_users_in
                ),
                scopes=[cognito.OAuthScope.OPENID, *oauth_scopes] if signs_users_in else oauth_scopes,
                callback_urls=list(client.callback_urls) or None,
            ),
            access_token_validity=Duration.minutes(60),
            prevent_user_existence_errors=True,
        )
