"""Unit tests of the API helpers that need no server: cursors, Lucene escaping, bearer tokens, the Browser
guide, error masking rules, and the schema's protective extensions."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from api.auth import bearer_token, token_ok
from api.concepts.queries import lucene_query
from api.errors import should_mask_error
from api.guide import parse, render
from api.pagination import decode_cursor, encode_cursor
from rskg.errors import NotFoundError, ValidationError


def test_cursor_round_trip_and_garbage() -> None:
    for key in ["ucm:images/river/river00.jpg", "ä/ß:∂", ""]:
        assert decode_cursor(encode_cursor(key)) == key
    assert decode_cursor(None) is None
    for bad in ["not-a-cursor", "cmlzaw==", "%%%"]:
        with pytest.raises(ValidationError):
            decode_cursor(bad)


def test_lucene_query_escapes_every_operator() -> None:
    assert lucene_query("storage tank") == "(storage OR storage*) (tank OR tank*)"
    assert lucene_query("a:b") == r"(a\:b OR a\:b*)"
    specials = '+-&|!(){}[]^"~*?:\\/'
    q = lucene_query(f"x{specials}y")
    term = q[1:q.index(" OR ")]
    assert term == "x" + "".join("\\" + ch for ch in specials) + "y"
    with pytest.raises(ValidationError):
        lucene_query("   ")


def test_bearer_token_parsing_and_comparison() -> None:
    assert bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"authorization": "bearer   abc  "}) == "abc"
    assert bearer_token({"authorization": "Basic abc"}) is None
    assert bearer_token({"authorization": "Bearer "}) is None
    assert bearer_token({}) is None
    assert token_ok("abc", "abc") and not token_ok("abd", "abc") and not token_ok(None, "abc")
    assert not token_ok("", "")          # an empty configured token never authorises


def test_guide_has_one_slide_per_saved_query_with_runnable_code() -> None:
    text = """// intro line
// 1. First thing
:param concept => 'water';
MATCH (c:Concept {id: $concept}) RETURN c;

// 2. Second <thing>
MATCH (n) RETURN n LIMIT 1;
"""
    intro, slides = parse(text)
    assert intro == ["intro line"]
    assert [s.title for s in slides] == ["First thing", "Second <thing>"]
    assert slides[0].params == [":param concept => 'water';"]
    assert slides[0].query == ["MATCH (c:Concept {id: $concept}) RETURN c;"]
    html = render(text)
    assert html.count('class="pre-scrollable code runnable"') == 3
    assert "Second &lt;thing&gt;" in html and "<carousel" in html and html.count("<slide") == 3


def test_real_guide_file_renders() -> None:
    from api.guide import QUERIES_FILE, guide_html

    _, slides = parse(QUERIES_FILE.read_text())
    html = guide_html()
    assert len(slides) >= 5 and html.count("<slide") == len(slides) + 1
    assert "apoc.algo.dijkstra" in html


def test_mask_rules() -> None:
    assert not should_mask_error(GraphQLError("syntax"))
    assert not should_mask_error(GraphQLError("x", original_error=NotFoundError("gone")))
    assert should_mask_error(GraphQLError("x", original_error=RuntimeError("secret internals")))
    assert not should_mask_error(GraphQLError("no", original_error=PermissionError("x"),
                                              extensions={"code": "UNAUTHENTICATED"}))


def test_schema_has_the_protective_extensions() -> None:
    from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

    from api.schema import build_schema

    kinds = {type(e) if not isinstance(e, type) else e for e in build_schema().extensions}
    assert {QueryDepthLimiter, MaxAliasesLimiter, MaxTokensLimiter, MaskErrors} <= kinds
