"""Request bodies of the HTTP API. Types are strict (``"5"`` is not a number, ``false`` not a
temperature) and text never carries a NUL character (PostgreSQL cannot store one)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    return text


def _iso_time(value: object) -> dt.datetime:
    """ISO 8601 only (pydantic would also read 0.5 as a Unix time); no zone means UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2030-01-31T12:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


Text = Annotated[str, AfterValidator(_no_nul)]
IsoTime = Annotated[dt.datetime, BeforeValidator(_iso_time)]
# Names that also appear in metric labels and audit entries: letters, digits and . _ @ -
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f/]+$")]
RoleName = Literal["admin", "editor", "viewer"]
DOMAIN = r"^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$"
Permission = Literal["read", "edit"]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


CONVERSATION_ID = r"^[A-Za-z0-9._:@-]+$"


class RagChatRequest(StrictBody):
    query: Annotated[Text, Field(min_length=1, max_length=4000)]
    stream: bool = False
    max_context_chunks: int = Field(default=5, ge=1, le=20)
    model: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=4096)
    # Any id the client chooses (letters, digits, ``._:@-``): turns with the same id are one conversation.
    conversation_id: Annotated[Text, Field(min_length=1, max_length=200, pattern=CONVERSATION_ID)] | None = None
    cache: Literal["default", "no-cache"] = "default"
    # Older editions of a manual, which answers leave out by default.
    include_superseded: bool = False
    # Search the web when the manuals have nothing close (auto), too (always), or not; unset: the
    # service's WEB_SEARCH_DEFAULT. Only with a provider configured (README "Web search").
    web_search: Literal["auto", "never", "always"] | None = None


class SearchRequest(StrictBody):
    query: Annotated[Text, Field(min_length=1, max_length=4000)]
    k: int = Field(default=5, ge=1, le=50)
    cache: Literal["default", "no-cache"] = "default"
    # Older editions of a manual, which answers leave out by default.
    include_superseded: bool = False


class InstanceRequest(StrictBody):
    url: Annotated[Text, Field(pattern=r"^https?://[^\s/?#]+(:\d+)?/?$", max_length=500)]
    # Empty: host:port from the URL.
    name: Annotated[Text, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f/]*$")] = ""
    weight: float = Field(default=1.0, gt=0, le=1000)
    max_concurrency: int | None = Field(default=None, ge=1, le=1024)
    labels: list[Literal["embed", "chat"]] = Field(default_factory=list)
    api: Literal["ollama", "openai"] = "ollama"


class LoginRequest(StrictBody):
    username: Annotated[Text, Field(min_length=1, max_length=200)]
    password: Annotated[Text, Field(min_length=1, max_length=1000)]


class UserCreate(StrictBody):
    username: UserName
    role: RoleName = "viewer"
    password: Annotated[Text, Field(min_length=10, max_length=1000)] | None = None


class UserUpdate(StrictBody):
    role: RoleName | None = None
    password: Annotated[Text, Field(min_length=10, max_length=1000)] | None = None
    disabled: bool | None = None


class KeyCreate(StrictBody):
    name: Name
    # Admins may create keys for other users; everyone else for themselves.
    user_id: int | None = Field(default=None, ge=1)
    expires_at: IsoTime | None = None


class GroupCreate(StrictBody):
    name: Name


class CollectionCreate(StrictBody):
    name: Name
    everyone: Literal["none", "read", "edit"] = "none"


class CollectionUpdate(StrictBody):
    name: Name | None = None
    everyone: Literal["none", "read", "edit"] | None = None
    # Web search for questions confined to this collection ("default": the service's WEB_SEARCH_DEFAULT),
    # and domains that narrow the service's own lists (README "Web search").
    web_search: Literal["auto", "never", "always", "default"] | None = None
    web_allow_domains: list[Annotated[Text, Field(pattern=DOMAIN, max_length=253)]] | None = Field(
        default=None, max_length=200)
    web_block_domains: list[Annotated[Text, Field(pattern=DOMAIN, max_length=253)]] | None = Field(
        default=None, max_length=200)


class GrantRequest(StrictBody):
    permission: Permission


class FeedbackRequest(StrictBody):
    answer_id: Annotated[uuid.UUID, Field(strict=False)]  # the answer's `answer_id`, as text
    rating: Literal["up", "down"]
    comment: Annotated[Text, Field(max_length=4000)] | None = None
    corrected_answer: Annotated[Text, Field(max_length=8000)] | None = None


class ReviewRequest(StrictBody):
    reviewed: bool
