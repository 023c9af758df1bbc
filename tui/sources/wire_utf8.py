"""Responses whose string fields hold invalid UTF-8, parsed anyway.

containerd 1.x decodes its gRPC requests with gogo/protobuf, which does not check that proto3 ``string`` fields
are UTF-8. So whoever can reach the runtime socket can create a pod whose name or labels are arbitrary bytes,
and from then on every ListPodSandbox (or ListContainers, ...) answer carries them. Python's protobuf refuses
such a message as a whole, so one hostile object would hide the entire node.

``lenient_channel`` wraps a channel so the stubs built on it parse answers normally and, only when that fails,
repair the bytes (each invalid sequence in a ``string`` field becomes U+FFFD, as ``bytes.decode(errors=
"replace")`` does) and parse again. A message that is broken in any other way still fails as before.
Headless: no textual or rich.
"""
from __future__ import annotations

from typing import Any, Callable

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

__all__ = ["repair_utf8", "lenient_parser", "lenient_channel"]

_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5
_MAX_DEPTH = 64


class _Unrepairable(Exception):
    pass


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise _Unrepairable
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _repair(data: bytes, descriptor: Descriptor, depth: int) -> bytes:
    if depth > _MAX_DEPTH:
        raise _Unrepairable
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        start = i
        tag, i = _read_varint(data, i)
        number, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            _, i = _read_varint(data, i)
        elif wire == _I64:
            i += 8
        elif wire == _I32:
            i += 4
        elif wire == _LEN:
            size, body_at = _read_varint(data, i)
            end = body_at + size
            if end > n:
                raise _Unrepairable
            body = data[body_at:end]
            field = descriptor.fields_by_number.get(number)
            fixed = body
            if field is not None and field.type == FieldDescriptor.TYPE_STRING:
                fixed = body.decode("utf-8", errors="replace").encode("utf-8")
            elif field is not None and field.type == FieldDescriptor.TYPE_MESSAGE:
                fixed = _repair(body, field.message_type, depth + 1)
            if fixed is not body:
                out += data[start:i] + _varint(len(fixed)) + fixed
                i = end
                continue
            i = end
        else:  # groups (unused by these APIs) or garbage: leave the message to fail as it would have
            raise _Unrepairable
        if i > n:
            raise _Unrepairable
        out += data[start:i]
    return bytes(out)


def repair_utf8(data: bytes, descriptor: Descriptor) -> bytes:
    """``data`` (a serialised message of type ``descriptor``) with every ``string`` field made valid UTF-8, at any
    depth (map entries and nested messages included). Returns ``data`` unchanged if its wire form cannot be
    walked."""
    try:
        return _repair(data, descriptor, 0)
    except _Unrepairable:
        return data


def lenient_parser(message_class: Any) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return message_class.FromString(data)
        except DecodeError:
            fixed = repair_utf8(data, message_class.DESCRIPTOR)
            if fixed == data:
                raise
            return message_class.FromString(fixed)

    parse.__name__ = f"lenient_{message_class.__name__}"
    return parse


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    message_class = getattr(deserializer, "__self__", None)  # the stubs pass Message.FromString
    if message_class is None or not hasattr(message_class, "DESCRIPTOR"):
        return deserializer
    return lenient_parser(message_class)


class _LenientChannel:
    """A grpc.Channel whose unary and server-streaming methods parse answers with ``lenient_parser``."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def unary_unary(self, method: str, request_serializer=None, response_deserializer=None, **kwargs: Any):
        return self._channel.unary_unary(method, request_serializer=request_serializer,
                                         response_deserializer=_lenient(response_deserializer), **kwargs)

    def unary_stream(self, method: str, request_serializer=None, response_deserializer=None, **kwargs: Any):
        return self._channel.unary_stream(method, request_serializer=request_serializer,
                                          response_deserializer=_lenient(response_deserializer), **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def lenient_channel(channel: Any) -> Any:
    """``channel`` for building stubs on: answers with invalid UTF-8 in string fields still parse."""
    return _LenientChannel(channel)
