"""msgspec's validation messages, said in our words (contract section 4: "in words of the
contract, no library's wording such as a regular expression")."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from gateway.wording import in_our_words


@pytest.mark.parametrize(
    ("problem", "options", "expected"),
    [
        ("Expected `str`, got `int`", {}, "expected a string, got a whole number"),
        ("Expected `bool`, got `str`", {}, "expected true or false, got a string"),
        ("Expected `object`, got `array`", {}, "expected an object, got an array"),
        ("Expected `str | null`, got `int`", {}, "expected a string or null, got a whole number"),
        ("Expected `str`, got `int`", {"kinds": {"str": "text in quotes", "int": "a whole number"}},
         "expected text in quotes, got a whole number"),
        ("Expected `str` matching regex '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'", {"format_words": "an order id"},
         "expected an order id"),
        ("Expected `str` matching regex '^x$'", {}, "not in the expected format"),
        ("Expected `str` of length >= 1", {}, "expected at least 1 character"),
        ("Expected `str` of length <= 64", {}, "expected at most 64 characters"),
        ("Expected `array` of length <= 3", {}, "expected at most 3 items"),
        ("Expected `int` >= 0", {}, "expected a number at least 0"),
        ("Expected `float` < 1.5", {}, "expected a number less than 1.5"),
        ("Invalid enum value 'drone'", {"choices": ("delivery", "pickup")}, 'expected "delivery" or "pickup", got \'drone\''),
        ("Invalid enum value 'drone'", {}, "expected an allowed value, got 'drone'"),
        ("Object missing required field `phone`", {}, "required"),
        ("Object contains unknown field `colour`", {}, "not a known field"),
        ("something msgspec never said", {}, "something msgspec never said"),
    ],
)
def test_in_our_words(problem, options, expected):
    assert in_our_words(problem, **options) == expected


class Probe(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z]+$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=4)] = "x"
    count: Annotated[int, msgspec.Meta(ge=0)] = 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "A1"}', b'{"id": 5}', b'{"id": "a", "name": ""}', b'{"id": "a", "name": "toolong"}',
        b'{"id": "a", "count": -1}', b'{"id": "a", "extra": 1}', b"{}", b'{"id": null}',
    ],
)
def test_what_msgspec_really_says_comes_out_without_its_notation(body):
    # Guards against msgspec rewording its messages: what it says today is all translated.
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(body, type=Probe)
    problem = str(caught.value).rpartition(" - at ")[0] or str(caught.value)
    words = in_our_words(problem, format_words="lower-case letters")
    assert "`" not in words and "regex" not in words and "Expected" not in words, words
