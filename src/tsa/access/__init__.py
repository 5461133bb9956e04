"""Access: accounts, groups, API keys, sessions, collections and grants; the policy of who may
read or edit what (pure) and its stores; rate limits and the audit log."""

from tsa.access.accounts import Accounts
from tsa.access.audit import AuditLog
from tsa.access.cache import PrincipalCache, credential_digest, still_valid
from tsa.access.collections import DEFAULT_COLLECTION, Collections
from tsa.access.passwords import MIN_PASSWORD_CHARS
from tsa.access.policy import LEVELS, ROLE_NAMES, Principal, Role, Scope, scope_for
from tsa.access.principals import Generations, Lookup, Principals
from tsa.access.ratelimit import Bucket, RateLimiter, retry_after_header
from tsa.access.tokens import csrf_matches
from tsa.access.watch import AccessWatch

__all__ = ["DEFAULT_COLLECTION", "LEVELS", "MIN_PASSWORD_CHARS", "ROLE_NAMES", "AccessWatch", "Accounts",
           "AuditLog", "Bucket", "Collections", "Generations", "Lookup", "Principal", "PrincipalCache", "Principals",
           "RateLimiter", "Role", "Scope", "credential_digest", "csrf_matches", "retry_after_header", "scope_for",
           "still_valid"]
