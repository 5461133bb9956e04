"""OpenAI requests and responses in the fleet's Ollama terms. Pure."""

import base64
import json
import struct

import pytest

from tsa.api.compat.openai_shapes import (Completion, chat_call, embedding_inputs, encoded, error_body, finish_reason,
                                          usage)
from tsa.errors import InvalidRequest
from tsa.json_codec import dumps


def test_a_chat_request_becomes_ollama_messages_options_and_passed_through_fields():
    call = chat_call({
        "model": "m", "stream": True, "stream_options": {"include_usage": True}, "max_completion_tokens": 9,
        "temperature": 0, "seed": 7, "stop": ["\n"], "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]},
                     {"role": "assistant", "content": None,
                      "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]}]})
    assert call.messages[0] == {"role": "user", "content": "What is this?", "images": ["AAA="]}
    assert call.messages[1]["tool_calls"] == [{"function": {"name": "f", "arguments": {"x": 1}}}]
    assert call.options == {"temperature": 0, "seed": 7, "stop": ["\n"], "num_predict": 9}
    assert call.extra["format"] == "json" and call.extra["tools"][0]["function"]["name"] == "f"
    assert call.stream and call.include_usage


def test_a_json_schema_is_passed_as_the_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    call = chat_call({"model": "m", "messages": [{"role": "user", "content": "x"}],
                      "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}})
    assert call.extra["format"] == schema


@pytest.mark.parametrize("body", [{}, {"model": ""}, {"model": "m", "messages": []}, {"model": "m", "messages": "hi"},
                                  {"model": "m", "messages": [{"content": "no role"}]},
                                  {"model": "m", "messages": [{"role": "user", "content": [
                                      {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}])
def test_malformed_chat_requests_are_refused(body):
    with pytest.raises(InvalidRequest):
        chat_call(body)


def test_base64_embeddings_are_float32_little_endian():
    vector = [0.25, -1.5, 3.0]
    packed = base64.b64decode(encoded(vector, "base64"))
    assert list(struct.unpack("<3f", packed)) == vector
    assert encoded(vector, "float") == vector
    with pytest.raises(InvalidRequest):
        embedding_inputs({"model": "m", "input": [[1, 2, 3]]})  # token arrays
    with pytest.raises(InvalidRequest):
        embedding_inputs({"model": "m", "input": "x", "encoding_format": "int8"})


def test_endings_usage_and_errors():
    assert finish_reason({"done_reason": "length"}) == "length"
    assert finish_reason({"done_reason": "stop", "message": {"tool_calls": [{"function": {"name": "f"}}]}}) == "tool_calls"
    assert usage({"prompt_eval_count": 3, "eval_count": 4}) == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert error_body("gone", 404)["error"] == {"message": "gone", "type": "invalid_request_error", "param": None,
                                                "code": "model_not_found"}
    assert error_body("busy", 503)["error"]["type"] == "server_error"


@pytest.mark.parametrize("text", ["token ", "", "Drehmoment 40 N·m — \"quoted\" \\ back\nline", "\x00"])
def test_a_content_chunk_from_the_template_is_the_chunk_itself(text):
    reply = Completion("bench-chat")
    assert reply.content_json(text) == dumps(reply.chat_chunk({"content": text}))
    assert json.loads(reply.content_json(text))["choices"][0]["delta"] == {"content": text}
