"""Every write the server makes, one function per operation, one module per concept.

The admin, the portal, the management commands and the protocol endpoints all call these,
as `services.<function>` (everything public is re-exported here). Each does its write in one
transaction, in as few statements as the work allows, and sends one signal (after commit) that
says what happened. Validation failures raise `policies.PolicyError` before anything is written.

- `clients`: create, change settings, change status, delete;
- `client_review`: a developer's changes to an approved app, held until an operator approves them;
- `shown_values`: the fingerprint an approving door posts back, so that what is approved is what was shown;
- `secrets`: rotate, expire;
- `tokens`: store issued tokens, rotate refresh tokens, revoke (one, a family, a set), clean up;
- `codes_and_consent`: authorization codes, and the consent a user gave a client;
- `device_codes`: device authorizations (RFC 8628): start, the user's decision, polls, redemption;
- `registration`: initial access tokens and dynamic client registration (RFC 7591/7592);
- `users`: a user's grants when they go, developer sign-up;
- `apis`: APIs (resource servers, RFC 8707 audiences): create, change, delete;
- `signing_keys`: the OpenID Provider's signing keys (create, activate, retire, revoke, rotate);
- `logout`: which clients a sign-in reached, ending that session (OpenID Connect logout);
- `backchannel_logout`: the logout tokens the task worker delivers to those clients.

The locking rules that order issuance against revocation are in `server.hotpath.locks`.
"""

from server.services.apis import change_api, create_api, delete_api
from server.services.backchannel_logout import (
    enqueue_deliveries,
    give_up_backchannel_logout,
    resume_backchannel_logouts,
)
from server.services.client_review import (
    REVIEWED_FIELDS,
    approve_client_changes,
    proposal_fingerprint,
    propose_client_changes,
    reject_client_changes,
)
from server.services.clients import (
    CLIENT_FIELDS_EDITABLE,
    create_client,
    delete_client,
    set_client_status,
    settings_fingerprint,
    update_client,
)
from server.services.codes_and_consent import (
    expire_unredeemed_codes,
    record_consent,
    redeem_authorization_code,
    revoke_consent,
    store_authorization_code,
)
from server.services.device_codes import (
    approve_device_authorization,
    deny_device_authorization,
    record_device_poll,
    redeem_device_authorization,
    revoke_device_authorizations,
    start_device_authorization,
)
from server.services.logout import end_browser_session
from server.services.registration import (
    create_initial_access_token,
    issue_registration_access_token,
    register_dynamic_client,
    revoke_initial_access_tokens,
)
from server.services.secrets import GRACE_PERIODS, expire_client_secret, rotate_client_secret
from server.services.shown_values import ChangedSinceShown
from server.services.signing_keys import (
    SigningKeyError,
    activate_signing_key,
    create_signing_key,
    private_key_of,
    retire_signing_key,
    revoke_signing_key,
    rotate_signing_keys,
    rotate_signing_keys_if_due,
    signing_key_for,
)
from server.services.tokens import (
    clear_expired_tokens,
    revoke_refresh_token_family,
    revoke_single_token,
    revoke_token_family,
    revoke_tokens,
    revoke_tokens_from_code,
    rotate_refresh_token,
    store_token,
    touch_token,
)
from server.services.users import revoke_user_access, sign_up_developer

__all__ = [
    "CLIENT_FIELDS_EDITABLE",
    "GRACE_PERIODS",
    "REVIEWED_FIELDS",
    "ChangedSinceShown",
    "SigningKeyError",
    "activate_signing_key",
    "approve_client_changes",
    "approve_device_authorization",
    "change_api",
    "clear_expired_tokens",
    "create_api",
    "create_client",
    "create_initial_access_token",
    "create_signing_key",
    "delete_api",
    "delete_client",
    "deny_device_authorization",
    "end_browser_session",
    "enqueue_deliveries",
    "expire_client_secret",
    "expire_unredeemed_codes",
    "give_up_backchannel_logout",
    "issue_registration_access_token",
    "private_key_of",
    "proposal_fingerprint",
    "propose_client_changes",
    "record_consent",
    "record_device_poll",
    "redeem_authorization_code",
    "redeem_device_authorization",
    "register_dynamic_client",
    "reject_client_changes",
    "resume_backchannel_logouts",
    "retire_signing_key",
    "revoke_consent",
    "revoke_device_authorizations",
    "revoke_initial_access_tokens",
    "revoke_refresh_token_family",
    "revoke_signing_key",
    "revoke_single_token",
    "revoke_token_family",
    "revoke_tokens",
    "revoke_tokens_from_code",
    "revoke_user_access",
    "rotate_client_secret",
    "rotate_refresh_token",
    "rotate_signing_keys",
    "rotate_signing_keys_if_due",
    "set_client_status",
    "settings_fingerprint",
    "sign_up_developer",
    "signing_key_for",
    "start_device_authorization",
    "store_authorization_code",
    "store_token",
    "touch_token",
    "update_client",
]
