"""Templates are filled by plain substitution: `{{ name }}` becomes the value of `name` in the job
data, nothing is ever evaluated, every missing field is named at once, and a malformed template
is refused with the place it went wrong."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.errors import Invalid
from labeld.intake.placeholders import MAX_FILLED_CHARS, fields, fill, validate_template

LABEL = {
    "width_mm": 58, "height_mm": 40,
    "elements": [
        {"type": "text", "x_mm": 2, "y_mm": 2, "text": "{{ name }}", "size_pt": 10},
        {"type": "text", "x_mm": 2, "y_mm": 8, "text": "{{price}} Ft", "size_pt": "{{ size }}"},
        {"type": "barcode", "symbology": "ean13", "data": "{{ ean }}", "x_mm": 4, "y_mm": 20},
    ],
}
DATA = {"name": "Trappista sajt", "price": 649, "size": 24, "ean": "5998200123450"}


def invalid(code: str, fn, *args) -> Invalid:
    with pytest.raises(Invalid) as e:
        fn(*args)
    assert e.value.code == code, e.value.message
    return e.value


# --------------------------------------------------------------------------------------------
# Filling


def test_placeholders_are_replaced_by_the_data():
    doc = fill(LABEL, DATA)
    assert doc["elements"][0]["text"] == "Trappista sajt"
    assert doc["elements"][1]["text"] == "649 Ft"  # inside a string: str(value)
    assert doc["elements"][2]["data"] == "5998200123450"
    assert doc["width_mm"] == 58 and doc["elements"][0]["size_pt"] == 10  # the rest as it was


def test_a_string_that_is_exactly_one_placeholder_takes_the_value_itself():
    template = {"n": "{{ n }}", "f": "{{f}}", "b": "{{ b }}", "z": "{{ z }}", "l": "{{ l }}",
                "o": "{{ o }}", "s": "  {{ n }}"}
    data = {"n": 24, "f": 1.5, "b": True, "z": None, "l": [1, "x"], "o": {"k": [2]}}
    assert fill(template, data) == {"n": 24, "f": 1.5, "b": True, "z": None, "l": [1, "x"],
                                    "o": {"k": [2]}, "s": "  24"}


def test_values_inside_strings_are_converted_with_str_and_null_inserts_nothing():
    template = {"t": "{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e }}"}
    data = {"a": 1299, "b": 0.5, "c": True, "d": None, "e": "Ft/kg"}
    assert fill(template, data) == {"t": "1299|0.5|True||Ft/kg"}


def test_spaces_inside_the_braces_do_not_matter():
    for text in ("{{x}}", "{{ x }}", "{{   x\t}}", "{{\nx\n}}"):
        assert fill({"t": text}, {"x": 7}) == {"t": 7}


def test_the_same_field_may_appear_many_times_and_in_lists():
    template = {"a": ["{{ x }}", "<{{ x }}>", {"deep": ["{{x}}{{x}}"]}]}
    assert fill(template, {"x": "ab"}) == {"a": ["ab", "<ab>", {"deep": ["abab"]}]}


def test_extra_data_fields_are_ignored():
    assert fill({"t": "{{ a }}"}, {"a": 1, "b": 2, "{{ a }}": 3}) == {"t": 1}


def test_neither_the_template_nor_the_data_is_modified_and_the_result_shares_nothing():
    template, data = copy.deepcopy(LABEL), {**DATA, "o": {"k": [1]}}
    template["elements"].append({"type": "text", "x_mm": 0, "y_mm": 0, "text": "{{ o }}"})
    before_t, before_d = copy.deepcopy(template), copy.deepcopy(data)
    doc = fill(template, data)
    doc["elements"][3]["text"]["k"].append(2)
    doc["elements"][0]["x_mm"] = 99
    assert template == before_t and data == before_d


def test_dotted_names_read_nested_objects_but_a_flat_key_wins():
    template = {"a": "{{ product.name }}", "b": "{{ product.price.gross }}"}
    data = {"product": {"name": "Sajt", "price": {"gross": 649}}}
    assert fill(template, data) == {"a": "Sajt", "b": 649}
    assert fill({"a": "{{ product.name }}"}, {"product.name": "flat", **data}) == {"a": "flat"}


# --------------------------------------------------------------------------------------------
# Sandboxed: substitution only


def test_text_from_the_data_is_never_read_as_a_placeholder():
    # one pass: a value that looks like a placeholder is printed as it is
    assert fill({"t": "{{ a }} {{ b }}"}, {"a": "{{ b }}", "b": "x"}) == {"t": "{{ b }} x"}


@pytest.mark.parametrize("name", [
    "s.upper", "s.__class__", "s.__len__", "d.keys", "d.items", "l.0", "l.__class__",
    "__class__", "__builtins__", "n.real", "n.__add__",
])
def test_nothing_but_object_keys_can_be_reached(name):
    # no attribute access and no indexing: what is not a key of the data is missing
    data = {"s": "abc", "d": {"k": 1}, "l": [1, 2], "n": 5}
    e = invalid("missing-field", fill, {"t": f"{{{{ {name} }}}}"}, data)
    assert name in e.message


@pytest.mark.parametrize("text", [
    "{{ price | upper }}", "{{ 1 + 2 }}", "{{ a.b() }}", "{{ a[0] }}", "{{ 'x' }}",
    "{{ }}", "{{", "}}", "price }}", "{{ price", "{{{ price }}", "{{ 9lives }}",
    "{{ a b }}", "{{ price }}}}", "{{ café }}",
])
def test_anything_else_between_braces_is_an_invalid_template(text):
    e = invalid("invalid-template", fill, {"elements": [{"text": text}]}, {"price": 1})
    assert e.message.startswith("elements[0].text:")
    invalid("invalid-template", fields, {"t": text})
    invalid("invalid-template", validate_template, {"width_mm": 1, "height_mm": 1, "t": text})


def test_single_braces_and_other_template_syntaxes_are_plain_text():
    text = "{ a } {% if x %} ${x} {#c#} }"
    assert fill({"t": text}, {}) == {"t": text}
    assert fields({"t": text}) == set()


# --------------------------------------------------------------------------------------------
# Missing fields


def test_a_missing_field_is_named():
    e = invalid("missing-field", fill, LABEL, {k: v for k, v in DATA.items() if k != "ean"})
    assert "ean" in e.message and "ean" in e.hint


def test_every_missing_field_is_named_at_once_in_order():
    e = invalid("missing-field", fill, LABEL, {"size": 1})
    assert e.message == "the data lacks fields: ean, name, price"


def test_null_is_a_value_not_a_missing_field():
    assert fill({"t": "{{ a }}"}, {"a": None}) == {"t": None}


def test_data_must_be_an_object():
    for data in (None, [], "x", 1):
        invalid("invalid-data", fill, LABEL, data)


def test_a_filled_template_cannot_grow_without_bound():
    template = {"t": ["{{ a }}!"] * 20}
    invalid("invalid-data", fill, template, {"a": "x" * (MAX_FILLED_CHARS // 10)})


# --------------------------------------------------------------------------------------------
# fields() and validate_template()


def test_fields_lists_every_placeholder_name_once():
    assert fields(LABEL) == {"name", "price", "size", "ean"}
    assert fields({"a": "{{ x.y-z_1 }} {{ x.y-z_1 }} {{ _q }}", "b": [1, None, True]}) == {
        "x.y-z_1", "_q"}
    assert fields({"width_mm": 1}) == set()


def test_a_label_document_with_placeholders_is_a_valid_template():
    validate_template(LABEL)
    validate_template({"width_mm": "{{ w }}", "height_mm": 30, "elements": "{{ elements }}"})
    validate_template({"width_mm": 50, "height_mm": 30, "elements": ["{{ logo }}"]})
    validate_template({"width_mm": 50, "height_mm": 30})


@pytest.mark.parametrize("doc,where", [
    ([], "template"),
    ("{{ label }}", "template"),
    ({"height_mm": 30}, "width_mm"),
    ({"width_mm": 50, "height_mm": None}, "height_mm"),
    ({"width_mm": 50, "height_mm": 30, "elements": {"type": "text"}}, "elements"),
    ({"width_mm": 50, "height_mm": 30, "elements": [5]}, "elements[0]"),
    ({"width_mm": 50, "height_mm": 30, "elements": [{"x_mm": 1}]}, "elements[0].type"),
    ({"width_mm": 50, "height_mm": 30, "{{ key }}": 1}, "template"),
    ({"width_mm": 50, "height_mm": 30, 7: 1}, "template"),
    ({"width_mm": float("nan"), "height_mm": 30}, "width_mm"),
    ({"width_mm": 50, "height_mm": 30, "x": {1, 2}}, "x"),
    ({"width_mm": 50, "height_mm": 30, "x": "\ud800"}, "x"),
    ({"width_mm": 50, "height_mm": 30, "elements": [{"type": "text", "text": "{{ a | b }}"}]},
     "elements[0].text"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_template_that_is_not_a_label_document_is_refused_with_the_place(doc, where):
    e = invalid("invalid-template", validate_template, doc)
    assert e.message.startswith(where + ":") or e.message.startswith(where + "."), e.message
    json.dumps(e.as_dict())  # the message goes into a JSON response as it is


def test_deeply_nested_templates_are_refused_not_a_recursion_error():
    doc: dict = {"width_mm": 1, "height_mm": 1}
    node = doc
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    invalid("invalid-template", validate_template, doc)
    invalid("invalid-template", fields, doc)
    invalid("invalid-template", fill, doc, {})


# --------------------------------------------------------------------------------------------
# Properties

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(prefix=st.text().filter(lambda s: "{" not in s and "}" not in s),
       value=st.text(), suffix=st.text().filter(lambda s: "{" not in s and "}" not in s))
def test_any_text_value_lands_verbatim_between_any_literal_text(prefix, value, suffix):
    assert fill({"t": prefix + "{{ v }}" + suffix}, {"v": value}) == {
        "t": prefix + value + suffix}


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES)
def test_any_json_value_stands_in_for_a_whole_placeholder(value):
    assert fill({"t": ["{{ v }}"]}, {"v": value}) == {"t": [value]}


@settings(max_examples=300, deadline=None)
@given(template=JSON_VALUES, data=st.dictionaries(st.text(), JSON_VALUES, max_size=4))
def test_any_json_in_only_ever_gives_a_result_or_invalid(template, data):
    try:
        fields(template)
        fill(template, data)
    except Invalid as e:
        assert e.code in {"invalid-template", "missing-field", "invalid-data"}
