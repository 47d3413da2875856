"""Conditional-routing queries: tables of (query, request context) -> match, of bad queries -> the field they name,
and of dotted paths -> values. Rows encode our rule where Portkey has a flaw (contract §13 row 28)."""

from dataclasses import FrozenInstanceError

import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.routing.conditions import MISSING, compile_query, lookup_path

WHERE = "x-portkey-config.strategy.conditions[0].query"
URL = {"pathname": "/v1/chat/completions"}
CHAT = {"model": "gpt-4o", "messages": [{"role": "system"}, {"role": "user", "content": "hi"}]}
GOLD = {"tier": "gold"}
GOLD_ON_GPT = {"$and": [{"metadata.tier": "gold"}, {"params.model": {"$in": ["gpt-4o", "gpt-4.1"]}}]}
OPERATORS = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $regex"

# (query, metadata, params, url, expected)
MATCH_ROWS = [
    # bare values mean strict equality, on every root
    ({}, {}, {}, {}, True),
    ({"metadata.tier": "gold"}, GOLD, {}, URL, True),
    ({"metadata.tier": "gold"}, {"tier": "silver"}, {}, URL, False),
    ({"params.model": "gpt-4o"}, {}, CHAT, URL, True),
    ({"url.pathname": "/v1/chat/completions"}, {}, {}, URL, True),
    ({"url.pathname": "/v1/embeddings"}, {}, {}, URL, False),
    ({"params.stop": ["x", 1]}, {}, {"stop": ["x", 1.0]}, URL, True),
    # type strictness: "5" is not 5, True is not 1, 1 is 1.0, null is only null
    ({"metadata.n": 5}, {"n": "5"}, {}, URL, False),
    ({"metadata.n": "5"}, {"n": "5"}, {}, URL, True),
    ({"metadata.flag": True}, {"flag": 1}, {}, URL, False),
    ({"metadata.n": 1}, {"n": True}, {}, URL, False),
    ({"metadata.n": 0}, {"n": False}, {}, URL, False),
    ({"params.temperature": 1}, {}, {"temperature": 1.0}, URL, True),
    ({"metadata.x": None}, {"x": None}, {}, URL, True),
    ({"metadata.x": None}, {}, {}, URL, False),
    ({"metadata.x": None}, {"x": ""}, {}, URL, False),
    # $eq / $ne, deep on lists and objects
    ({"metadata.tier": {"$eq": "gold"}}, GOLD, {}, URL, True),
    ({"params.stop": {"$eq": ["a", 1]}}, {}, {"stop": ["a", 1.0]}, URL, True),
    ({"params.stop": {"$eq": ["a", 1]}}, {}, {"stop": ["a", True]}, URL, False),
    ({"params.stop": {"$eq": ["a", 1]}}, {}, {"stop": ["a", 1, 2]}, URL, False),
    ({"metadata.o": {"$eq": {"a": 1}}}, {"o": {"a": 1}}, {}, URL, True),
    ({"metadata.o": {"$eq": {"a": 1}}}, {"o": {"a": 1, "b": 2}}, {}, URL, False),
    ({"metadata.o": {"$eq": {"a": 1}}}, {"o": {"a": "1"}}, {}, URL, False),
    ({"metadata.tier": {"$ne": "gold"}}, {"tier": "silver"}, {}, URL, True),
    ({"metadata.tier": {"$ne": "gold"}}, GOLD, {}, URL, False),
    ({"metadata.n": {"$ne": 5}}, {"n": "5"}, {}, URL, True),
    # $gt $gte $lt $lte with JavaScript parseFloat on both sides
    ({"metadata.n": {"$gt": 10}}, {"n": 11}, {}, URL, True),
    ({"metadata.n": {"$gt": 10}}, {"n": 10}, {}, URL, False),
    ({"metadata.n": {"$gte": 10}}, {"n": 10}, {}, URL, True),
    ({"metadata.n": {"$lt": 10}}, {"n": 9.5}, {}, URL, True),
    ({"metadata.n": {"$lte": 9.5}}, {"n": 10}, {}, URL, False),
    ({"metadata.n": {"$gt": 10}}, {"n": "12abc"}, {}, URL, True),
    ({"metadata.n": {"$gt": 1}}, {"n": "abc"}, {}, URL, False),
    ({"metadata.n": {"$lt": 1}}, {"n": "abc"}, {}, URL, False),
    ({"metadata.n": {"$gte": 35, "$lte": 35}}, {"n": " 3.5e1"}, {}, URL, True),
    ({"metadata.n": {"$gt": "10"}}, {"n": 11}, {}, URL, True),
    ({"metadata.n": {"$lt": "-1x"}}, {"n": "\n -2"}, {}, URL, True),
    ({"metadata.n": {"$gt": 0.4}}, {"n": ".5"}, {}, URL, True),
    ({"metadata.n": {"$gte": 1, "$lte": 1}}, {"n": "1e"}, {}, URL, True),
    ({"metadata.n": {"$lte": 0, "$gte": 0}}, {"n": "0x10"}, {}, URL, True),
    ({"metadata.n": {"$gt": 1e308}}, {"n": "Infinity"}, {}, URL, True),
    ({"metadata.n": {"$lt": -1e308}}, {"n": "-Infinity"}, {}, URL, True),
    ({"metadata.n": {"$gt": 1}}, {"n": "inf"}, {}, URL, False),
    ({"metadata.n": {"$gt": 0}}, {"n": True}, {}, URL, False),
    ({"metadata.n": {"$lt": 1}}, {"n": None}, {}, URL, False),
    ({"metadata.n": {"$lt": 9}}, {"n": [1]}, {}, URL, False),
    ({"metadata.n": {"$gt": "abc"}}, {"n": 5}, {}, URL, False),
    ({"metadata.n": {"$lte": [1]}}, {"n": 0}, {}, URL, False),
    ({"metadata.n": {"$gte": 1, "$lt": 5}}, {"n": 3}, {}, URL, True),
    ({"metadata.n": {"$gte": 1, "$lt": 5}}, {"n": 5}, {}, URL, False),
    # $in / $nin use the same strict equality
    ({"metadata.tier": {"$in": ["gold", "silver"]}}, GOLD, {}, URL, True),
    ({"metadata.tier": {"$in": ["gold", "silver"]}}, {"tier": "bronze"}, {}, URL, False),
    ({"metadata.n": {"$in": [5]}}, {"n": "5"}, {}, URL, False),
    ({"metadata.n": {"$in": [1]}}, {"n": True}, {}, URL, False),
    ({"metadata.n": {"$in": [1]}}, {"n": 1.0}, {}, URL, True),
    ({"params.stop": {"$in": [["a", "b"]]}}, {}, {"stop": ["a", "b"]}, URL, True),
    ({"metadata.tier": {"$in": []}}, GOLD, {}, URL, False),
    ({"metadata.tier": {"$nin": ["gold", "silver"]}}, {"tier": "bronze"}, {}, URL, True),
    ({"metadata.tier": {"$nin": ["gold", "silver"]}}, GOLD, {}, URL, False),
    ({"metadata.n": {"$nin": [5]}}, {"n": "5"}, {}, URL, True),
    # $regex searches JavaScript String(value); null, lists and objects never match
    ({"params.model": {"$regex": "^gpt-4"}}, {}, CHAT, URL, True),
    ({"params.model": {"$regex": "4o"}}, {}, CHAT, URL, True),
    ({"params.model": {"$regex": "^claude"}}, {}, CHAT, URL, False),
    ({"metadata.v": {"$regex": "^12"}}, {"v": 123}, {}, URL, True),
    ({"metadata.v": {"$regex": "^true$"}}, {"v": True}, {}, URL, True),
    ({"metadata.v": {"$regex": "^false$"}}, {"v": False}, {}, URL, True),
    ({"metadata.v": {"$regex": "^1$"}}, {"v": 1.0}, {}, URL, True),
    ({"metadata.v": {"$regex": r"^1\.5$"}}, {"v": 1.5}, {}, URL, True),
    ({"metadata.v": {"$regex": r"^1e\+21$"}}, {"v": 1e21}, {}, URL, True),
    ({"metadata.v": {"$regex": "^1e-7$"}}, {"v": 1e-7}, {}, URL, True),
    ({"metadata.v": {"$regex": r"^0\.000001$"}}, {"v": 1e-6}, {}, URL, True),
    ({"metadata.v": {"$regex": "^10000000000000000$"}}, {"v": 1e16}, {}, URL, True),
    ({"metadata.v": {"$regex": "^0$"}}, {"v": -0.0}, {}, URL, True),
    ({"metadata.v": {"$regex": "null"}}, {"v": None}, {}, URL, False),
    ({"metadata.v": {"$regex": "a"}}, {"v": ["a"]}, {}, URL, False),
    ({"metadata.v": {"$regex": "a"}}, {"v": {"a": "a"}}, {}, URL, False),
    ({"url.pathname": {"$regex": "^/v1/"}}, {}, {}, URL, True),
    # every operator of one object holds; $regex does not return early (Portkey flaw)
    ({"metadata.tier": {"$regex": "^g", "$ne": "gold"}}, GOLD, {}, URL, False),
    ({"metadata.tier": {"$regex": "^g", "$ne": "gold"}}, {"tier": "green"}, {}, URL, True),
    # any-depth paths, list indices
    ({"metadata.user_tier": "pro"}, {"user_tier": "pro"}, {}, URL, True),
    ({"metadata.a.b.c": "deep"}, {"a": {"b": {"c": "deep"}}}, {}, URL, True),
    ({"metadata.a.b.c": "deep"}, {"a": {"b": "deep"}}, {}, URL, False),
    ({"params.messages.1.role": "user"}, {}, CHAT, URL, True),
    ({"params.messages.0.role": "user"}, {}, CHAT, URL, False),
    ({"params.messages.1.content": {"$regex": "^hi$"}}, {}, CHAT, URL, True),
    ({"params.messages.5.role": {"$ne": "user"}}, {}, CHAT, URL, True),
    ({"params.messages.-1.role": "user"}, {}, CHAT, URL, False),
    # $and / $or, nested, and every sibling key evaluated (Portkey returns early on them)
    ({"$and": [{"metadata.tier": "gold"}, {"params.model": "gpt-4o"}]}, GOLD, CHAT, URL, True),
    ({"$and": [{"metadata.tier": "gold"}, {"params.model": "o1"}]}, GOLD, CHAT, URL, False),
    ({"$or": [{"metadata.tier": "silver"}, {"params.model": "gpt-4o"}]}, GOLD, CHAT, URL, True),
    ({"$or": [{"metadata.tier": "silver"}, {"params.model": "o1"}]}, GOLD, CHAT, URL, False),
    ({"$or": [{"metadata.tier": "gold"}], "metadata.x": "no"}, {**GOLD, "x": "yes"}, {}, URL, False),
    ({"metadata.x": "no", "$or": [{"metadata.tier": "gold"}]}, {**GOLD, "x": "yes"}, {}, URL, False),
    ({"$and": [{"metadata.tier": "gold"}], "params.model": "o1"}, GOLD, CHAT, URL, False),
    ({"params.model": {"$regex": "^gpt"}, "metadata.tier": "silver"}, GOLD, CHAT, URL, False),
    ({"$or": [{"metadata.tier": "gold"}], "$and": [{"params.model": "gpt-4o"}]}, GOLD, CHAT, URL, True),
    ({"$or": [GOLD_ON_GPT, {"metadata.admin": True}]}, GOLD, CHAT, URL, True),
    ({"$or": [GOLD_ON_GPT, {"metadata.admin": True}]}, {**GOLD, "admin": 1}, {"model": "o1"}, URL, False),
    ({"$or": [GOLD_ON_GPT, {"metadata.admin": True}]}, {"admin": True}, {"model": "o1"}, URL, True),
]

# (operator, operand, expected) when the path is absent from the request
MISSING_ROWS = [
    ("$eq", "x", False),
    ("$eq", None, False),
    ("$ne", "x", True),
    ("$ne", None, True),
    ("$gt", -1e308, False),
    ("$gte", -1e308, False),
    ("$lt", 1e308, False),
    ("$lte", 1e308, False),
    ("$in", ["x", None], False),
    ("$nin", ["x", None], True),
    ("$regex", "", False),
]

# (query, field named by the violation, part of its description)
ERROR_ROWS = [
    (["metadata.tier"], WHERE, "must be an object"),
    ("gold", WHERE, "must be an object"),
    (None, WHERE, "must be an object"),
    ({"metadata.tier": {"$foo": 1}}, f"{WHERE}.metadata.tier.$foo", "unknown operator '$foo'"),
    ({"metadata.tier": {"$foo": 1}}, f"{WHERE}.metadata.tier.$foo", OPERATORS),
    ({"metadata.x": {"$gt": 1, "$oops": 2}}, f"{WHERE}.metadata.x.$oops", "unknown operator '$oops'"),
    ({"metadata.tier": {"$and": [{"metadata.a": 1}]}}, f"{WHERE}.metadata.tier.$and", "unknown operator '$and'"),
    ({"metadata.tier": {"$or": []}}, f"{WHERE}.metadata.tier.$or", "unknown operator '$or'"),
    ({"metadata.tier": {}}, f"{WHERE}.metadata.tier", "at least one operator"),
    ({"$and": {"metadata.x": 1}}, f"{WHERE}.$and", "non-empty list"),
    ({"$and": []}, f"{WHERE}.$and", "non-empty list"),
    ({"$or": "x"}, f"{WHERE}.$or", "non-empty list"),
    ({"$or": [{"metadata.x": 1}, "nope"]}, f"{WHERE}.$or[1]", "must be an object"),
    ({"$or": [{"metadata.a": 1}, {"metadata.b": {"$zzz": 1}}]}, f"{WHERE}.$or[1].metadata.b.$zzz", "unknown operator"),
    ({"$and": [{"$or": [{"metadata.x": {"$bad": 1}}]}]}, f"{WHERE}.$and[0].$or[0].metadata.x.$bad", "unknown operator"),
    ({"metadata.tier": {"$in": "gold"}}, f"{WHERE}.metadata.tier.$in", "must be a list"),
    ({"metadata.tier": {"$nin": 5}}, f"{WHERE}.metadata.tier.$nin", "must be a list"),
    ({"metadata.a": 1, "params.b": {"$in": 3}}, f"{WHERE}.params.b.$in", "must be a list"),
    ({"params.model": {"$regex": "("}}, f"{WHERE}.params.model.$regex", "invalid regular expression: missing )"),
    ({"params.model": {"$regex": "[z-a]"}}, f"{WHERE}.params.model.$regex", "invalid regular expression"),
    ({"params.model": {"$regex": "a" * 1025}}, f"{WHERE}.params.model.$regex", "longer than 1024"),
    ({"params.model": {"$regex": "a{99999999999}"}}, f"{WHERE}.params.model.$regex", "invalid regular expression"),
    ({"params.model": {"$regex": 5}}, f"{WHERE}.params.model.$regex", "must be a string"),
    ({"user.tier": "gold"}, f"{WHERE}.user.tier", "unknown query key 'user.tier'"),
    ({"user.tier": "gold"}, f"{WHERE}.user.tier", "metadata, params, url"),
    ({"$foo": 1}, f"{WHERE}.$foo", "unknown query key '$foo'"),
    ({"$regex": "x"}, f"{WHERE}.$regex", "unknown query key '$regex'"),
    ({"": 1}, f"{WHERE}.", "unknown query key ''"),
    ({"metadata..tier": 1}, f"{WHERE}.metadata..tier", "empty segment"),
    ({"metadata.": 1}, f"{WHERE}.metadata.", "empty segment"),
]

# (roots, dotted path, expected)
LOOKUP_ROWS = [
    ({"metadata": {"a": 1}}, "metadata.a", 1),
    ({"metadata": {"a": 1}}, "metadata", {"a": 1}),
    ({"metadata": {"a": 1}}, "metadata.b", MISSING),
    ({"metadata": {"a": 1}}, "other.a", MISSING),
    ({"metadata": {"a": None}}, "metadata.a", None),
    ({"metadata": {"a": None}}, "metadata.a.b", MISSING),
    ({"metadata": {"a": {"b": {"c": False}}}}, "metadata.a.b.c", False),
    ({"metadata": {"0": "zero"}}, "metadata.0", "zero"),
    ({"params": CHAT}, "params.messages.1.role", "user"),
    ({"params": CHAT}, "params.messages.2", MISSING),
    ({"params": CHAT}, "params.messages.-1", MISSING),
    ({"params": CHAT}, "params.messages.x", MISSING),
    ({"params": CHAT}, "params.messages.\u00b2", MISSING),
    ({"params": CHAT}, "params.messages." + "9" * 5000, MISSING),
    ({"params": CHAT}, "params.model.0", MISSING),
    ({"params": {"t": (1, 2)}}, "params.t.1", 2),
    ({"url": URL}, "url.pathname", "/v1/chat/completions"),
]


def matches(query, metadata, params, url):
    roots = {"metadata": metadata, "params": params, "url": url}
    return compile_query(query, WHERE).matches(lambda dotted: lookup_path(roots, dotted))


def nested_and(levels):
    query = {"metadata.x": 1}
    for _ in range(levels):
        query = {"$and": [query]}
    return query


@pytest.mark.parametrize(("query", "metadata", "params", "url", "expected"), MATCH_ROWS)
def test_query_matches_the_request_context(query, metadata, params, url, expected):
    assert matches(query, metadata, params, url) is expected


@pytest.mark.parametrize(("op", "operand", "expected"), MISSING_ROWS)
def test_query_missing_path_equals_nothing_and_never_orders(op, operand, expected):
    assert matches({"metadata.absent.deeper": {op: operand}}, {}, CHAT, URL) is expected


@pytest.mark.parametrize(("query", "field", "description"), ERROR_ROWS)
def test_compile_query_names_the_bad_spot(query, field, description):
    with pytest.raises(InvalidConfig) as caught:
        compile_query(query, WHERE)
    assert caught.value.violations[0].field == field
    assert description in caught.value.violations[0].description
    assert caught.value.message.startswith(f"{field}: ")


def test_compile_query_bounds_and_or_nesting():
    assert matches(nested_and(32), {"x": 1}, {}, URL) is True
    with pytest.raises(InvalidConfig) as caught:
        compile_query(nested_and(33), WHERE)
    assert caught.value.violations[0].field == WHERE + ".$and[0]" * 33


@pytest.mark.parametrize(("roots", "dotted", "expected"), LOOKUP_ROWS)
def test_lookup_path_resolves_mappings_and_list_indices(roots, dotted, expected):
    found = lookup_path(roots, dotted)
    assert found == expected
    assert type(found) is type(expected)


def test_query_is_immutable_and_missing_is_named():
    query = compile_query({"metadata.tier": "gold"}, WHERE)
    with pytest.raises(FrozenInstanceError):
        query.clauses = ()
    assert repr(MISSING) == "MISSING"


def test_regex_accepts_javascript_named_groups():
    query = compile_query({"params.model": {"$regex": "^(?<family>gpt)-"}}, WHERE)
    assert query.matches(lambda path: "gpt-4o")


def test_regex_catastrophic_backtracking_is_cut_short_as_no_match():
    query = compile_query({"metadata.x": {"$regex": "^(a+)+$"}}, WHERE)
    hostile = "a" * 64 + "!"  # 2**64 paths for a backtracking engine; the engine's timeout stops it
    assert query.matches(lambda path: hostile) is False
    assert query.matches(lambda path: "aaaa") is True
