"""Live signaling messages (WS /ws/proctor/live/{attemptId}), one model per type; unknown
types and fields are refused. The server adds "from" when it delivers a message."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

MAX_MESSAGE_BYTES = 64 * 1024
PeerId = Annotated[str, Field(pattern=r"^[0-9a-f]{20}$")]
ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Gen = Annotated[int, Field(ge=0, le=2**31)]
Sdp = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_BYTES)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    to: PeerId | None = None


class Hello(_Message):
    type: Literal["hello"]
    gen: Gen = 0


class Offer(_Message):
    type: Literal["offer"]
    sdp: Sdp
    gen: Gen = 0


class Answer(_Message):
    type: Literal["answer"]
    sdp: Sdp
    gen: Gen = 0


class IceCandidate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    candidate: Annotated[str, Field(max_length=4096)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class Ice(_Message):
    type: Literal["ice"]
    candidate: IceCandidate | None  # None: end of candidates
    gen: Gen = 0


class Restart(_Message):
    type: Literal["restart"]
    hard: bool = False
    gen: Gen = 0


class Bye(_Message):
    type: Literal["bye"]


class Status(_Message):
    type: Literal["status"]
    state: Literal["connected", "reconnecting", "lost"]


AnyMessage = Hello | Offer | Answer | Ice | Restart | Bye | Status
SIGNAL: TypeAdapter[AnyMessage] = TypeAdapter(Annotated[AnyMessage, Field(discriminator="type")])
CLIENT_ID = TypeAdapter(ClientId)
