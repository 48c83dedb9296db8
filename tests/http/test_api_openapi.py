"""The OpenAPI document describes every request and answer, and says the truth: each real
answer validates against the model the document declares for its route and status (both ways:
no field the model lacks, none it has missing), errors included."""

import copy
import re

import pytest

from labeld.config import Config, PrinterConfig
from labeld.http import schemas
from labeld.http.app import create_app
from labeld.intake.render import parse_label
from tests.conftest import PATIENT_DELIVERY, printer, token, wait_job

SPEC = create_app(Config(printers=[PrinterConfig(id="p", uri="socket://192.0.2.1:9",
                                                 model="zebra-generic-203")])).openapi()
OPERATIONS = [(path, method, op) for path, ops in SPEC["paths"].items()
              for method, op in ops.items()]
COMPONENTS = SPEC["components"]["schemas"]
ELEMENTS = {"text": "TextElement", "barcode": "BarcodeElement", "image": "ImageElement",
            "box": "BoxElement", "line": "LineElement"}


def ref(schema: dict) -> str:
    return schema["$ref"].rsplit("/", 1)[-1]


# -- the document ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, method, op", OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_declares_its_answer_and_its_errors(path, method, op):
    if path == "/metrics":
        return  # added by the app itself (labeld/http/app.py), not by a router
    responses = op["responses"]
    ok = [s for s in responses if s.startswith("2")]
    assert ok, "no success answer"
    for status in ok:
        assert responses[status]["content"], (status, "the answer has no content")
        for media, content in responses[status]["content"].items():
            schema = content["schema"]
            if media == "application/json":
                assert ref(schema) in COMPONENTS  # a model, never `{}` or a bare object
            else:
                assert schema["type"] == "string"
    errors = [s for s in responses if s[0] in "45"]
    for status in errors:
        content = responses[status]["content"]["application/json"]
        assert ref(content["schema"]) == "ErrorBody", status
    if op.get("security"):
        assert {"401", "429"} <= set(errors)
        assert "token-required" in responses["401"]["content"]["application/json"]["examples"]
    if op.get("parameters") or op.get("requestBody"):
        assert "422" in errors  # labeld's error body, not FastAPI's HTTPValidationError
    if path.startswith("/v1/jobs/{job_id}") or "{printer_id}" in path:
        assert "404" in errors


def test_no_answer_is_described_in_fastapis_shape():
    text = str(SPEC)
    assert "HTTPValidationError" not in text and "HTTPValidationError" not in COMPONENTS


def test_the_models_have_examples():
    for name in ("Job", "Printer", "Reason", "PrinterStatus", "SelfTestReport", "Event",
                 "TemplateList", "Template", "Token", "NewToken", "ErrorBody", "AuditLog",
                 "LabelDocument", *ELEMENTS.values(), "RawPayload", "DocumentPayload",
                 "TokenRequest", "Report"):
        assert COMPONENTS[name].get("examples"), name
    body = SPEC["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert {"raw-zpl", "label", "template", "document"} <= set(body["examples"])


def test_a_job_answer_has_owner_and_warnings():
    job = COMPONENTS["Job"]
    assert {"owner", "warnings"} <= set(job["required"])
    assert ref(job["properties"]["warnings"]["items"]) == "Problem"
    assert set(COMPONENTS["Problem"]["required"]) == {"code", "message", "hint"}
    reasons = COMPONENTS["Printer"]["properties"]["state_reasons"]
    assert ref(reasons["items"]) == "Reason"


def test_the_label_document_is_a_union_of_its_element_types():
    job = COMPONENTS["JobRequest"]["properties"]["label"]
    assert [ref(s) for s in job["anyOf"] if "$ref" in s] == ["LabelDocument"]
    label = COMPONENTS["LabelDocument"]
    assert set(label["required"]) == {"width_mm", "height_mm"}
    items = next(s for s in label["properties"]["elements"]["anyOf"] if s.get("type") == "array")
    items = items["items"]
    assert items["discriminator"]["propertyName"] == "type"
    assert {k: v.rsplit("/", 1)[-1] for k, v in items["discriminator"]["mapping"].items()} == \
        ELEMENTS
    assert sorted(ref(s) for s in items["oneOf"]) == sorted(ELEMENTS.values())
    barcode = COMPONENTS["BarcodeElement"]["properties"]
    assert {"ean13", "qr", "gs1-128"} <= set(barcode["symbology"]["enum"])


@pytest.mark.parametrize("kind", ELEMENTS)
def test_every_element_example_renders(kind):
    for example in COMPONENTS[ELEMENTS[kind]]["examples"]:
        doc = {"width_mm": 80, "height_mm": 60, "elements": [example]}
        assert parse_label(doc, default_dpi=203).elements
    for example in COMPONENTS["LabelDocument"]["examples"]:
        assert len(parse_label(example, default_dpi=203).elements) == len(example["elements"])


# What the render layer accepts must validate against the documented model too: the document
# may be looser than the renderer, never stricter.
ACCEPTED_BY_THE_RENDERER = [
    {"width_mm": 20, "height_mm": 10},
    {"width_mm": 20, "height_mm": 10, "elements": None, "dpi": 203.0},
    {"width_mm": 20, "height_mm": 10, "elements": [
        {"type": "text", "x_mm": 0, "y_mm": 0, "text": "", "size_pt": None, "bold": None,
         "font": None, "align": None, "max_width_mm": None, "fit": None, "rotation": None},
        {"type": "text", "x_mm": 1, "y_mm": 1, "text": "x", "max_width_mm": 10, "fit": "shrink",
         "rotation": 270.0},
        {"type": "barcode", "symbology": "pdf417", "data": "x", "x_mm": 1, "y_mm": 1,
         "ecc": 8.0, "module_dots": 2.0},
        {"type": "barcode", "symbology": "code128", "data": "x", "x_mm": 1, "y_mm": 1,
         "ecc": None, "height_mm": None, "human_readable": None},
        {"type": "line", "x_mm": 1, "y_mm": 1, "x2_mm": 5, "y2_mm": 1, "rotation": None},
        {"type": "box", "x_mm": 1, "y_mm": 1, "width_mm": 5, "height_mm": 5, "rotation": 90},
        {"type": "image", "x_mm": 1, "y_mm": 1, "data": schemas.PNG_8X8, "width_mm": None,
         "dither": None},
    ]},
]


@pytest.mark.parametrize("doc", ACCEPTED_BY_THE_RENDERER)
def test_the_documented_label_is_not_stricter_than_the_renderer(doc):
    parse_label(copy.deepcopy(doc), default_dpi=203)
    schemas.LabelDocument.model_validate(doc)


# -- the truth of it: real answers against the declared models ---------------------------------

def check(resp, method: str, path: str, *, extra: str | None = "forbid"):
    """`resp` validates against the model the document declares for `method path` and its
    status; `extra="forbid"`: with no field the model does not name."""
    declared = SPEC["paths"][path][method.lower()]["responses"]
    assert str(resp.status_code) in declared, (method, path, resp.status_code, resp.text)
    content = declared[str(resp.status_code)]["content"]
    media = resp.headers["content-type"].split(";")[0]
    assert media in content, (method, path, media)
    if media != "application/json":
        return resp
    model = getattr(schemas, ref(content[media]["schema"]))
    model.model_validate(resp.json(), extra=extra)
    return resp


@pytest.fixture
def shop(daemon, simulator):
    return daemon([printer("zebra", simulator("zpl"), "zebra-generic-203"),
                   printer("till", simulator("escpos"), "escpos-generic-80")],
                  delivery=PATIENT_DELIVERY)


def test_real_answers_match_their_models(shop):
    c = shop
    check(c.get("/healthz"), "GET", "/healthz")
    job = check(c.post("/v1/jobs", json={"printer": "zebra", "raw": {"data": "^XA^FDŐ^FS^XZ"}}),
                "POST", "/v1/jobs").json()
    assert job["warnings"]
    wait_job(c, job["id"])
    check(c.get(f"/v1/jobs/{job['id']}"), "GET", "/v1/jobs/{job_id}")
    check(c.get("/v1/jobs"), "GET", "/v1/jobs")
    check(c.get("/v1/jobs?mine=true"), "GET", "/v1/jobs")
    check(c.get(f"/v1/jobs/{job['id']}/preview.png"), "GET", "/v1/jobs/{job_id}/preview.png")
    again = check(c.post(f"/v1/jobs/{job['id']}/reprint"), "POST",
                  "/v1/jobs/{job_id}/reprint").json()
    wait_job(c, again["id"])
    check(c.post(f"/v1/jobs/{job['id']}/retry"), "POST", "/v1/jobs/{job_id}/retry")  # 409
    check(c.post(f"/v1/jobs/{job['id']}/release"), "POST", "/v1/jobs/{job_id}/release")  # 409
    check(c.delete(f"/v1/jobs/{job['id']}"), "DELETE", "/v1/jobs/{job_id}")  # 409
    label = {"printer": "zebra", "label": schemas.LABEL_EXAMPLE}
    check(c.post("/v1/preview", json=label), "POST", "/v1/preview")
    c.post("/v1/printers/till/pause")
    held = c.post("/v1/jobs", json={"printer": "till", "raw": {"data": "hi\n"}}).json()
    check(c.delete(f"/v1/jobs/{held['id']}"), "DELETE", "/v1/jobs/{job_id}")
    check(c.post(f"/v1/jobs/{held['id']}/retry"), "POST", "/v1/jobs/{job_id}/retry")

    check(c.get("/v1/printers"), "GET", "/v1/printers")
    check(c.get("/v1/printers/zebra"), "GET", "/v1/printers/{printer_id}")
    check(c.get("/v1/printers/zebra/status"), "GET", "/v1/printers/{printer_id}/status")
    check(c.post("/v1/printers/zebra/selftest"), "POST", "/v1/printers/{printer_id}/selftest")
    check(c.post("/v1/printers/zebra/pause"), "POST", "/v1/printers/{printer_id}/pause")
    check(c.post("/v1/printers/zebra/resume"), "POST", "/v1/printers/{printer_id}/resume")
    check(c.get("/v1/printers/zebra/events"), "GET", "/v1/printers/{printer_id}/events")
    check(c.get("/v1/printers/zebra/actions"), "GET", "/v1/printers/{printer_id}/actions")
    action = "/v1/printers/{printer_id}/actions/{action_id}"
    ran = check(c.post("/v1/printers/zebra/actions/darkness", json={"value": 18}), "POST",
                action).json()
    check(c.get(f"/v1/jobs/{ran['id']}"), "GET", "/v1/jobs/{job_id}")
    check(c.post("/v1/printers/zebra/actions/format", json={}), "POST", action)  # 404
    check(c.post("/v1/printers/zebra/actions/darkness", json={"value": 99}), "POST",
          action)  # 422
    check(c.get("/v1/discover"), "GET", "/v1/discover")
    check(c.get("/v1/plugins"), "GET", "/v1/plugins")
    check(c.get("/v1/support-bundle"), "GET", "/v1/support-bundle")
    check(c.get("/v1/report", params={"since": "2026-01-01T00:00:00Z"}), "GET", "/v1/report")
    check(c.get("/v1/report", params={"since": "2036-01-01T00:00:00Z"}), "GET",
          "/v1/report")  # 422
    # a language's rules may carry columns of its own (ESC/POS: `bytes`)
    check(c.get("/v1/policy/escpos"), "GET", "/v1/policy/{language}", extra=None)

    check(c.get("/v1/templates"), "GET", "/v1/templates")
    check(c.get("/v1/templates/product-label"), "GET", "/v1/templates/{name}")
    doc = {"width_mm": 20, "height_mm": 10,
           "elements": [{"type": "text", "x_mm": 1, "y_mm": 1, "text": "{{ a }}"}]}
    check(c.put("/v1/templates/mine", json=doc), "PUT", "/v1/templates/{name}")  # 201
    check(c.put("/v1/templates/mine", json=doc), "PUT", "/v1/templates/{name}")  # 200
    check(c.delete("/v1/templates/mine"), "DELETE", "/v1/templates/{name}")
    check(c.delete("/v1/templates/product-label"), "DELETE", "/v1/templates/{name}")  # 409

    check(c.get("/v1/tokens"), "GET", "/v1/tokens")
    check(c.post("/v1/tokens", json={"name": "till-1", "role": "pos"}), "POST", "/v1/tokens")
    check(c.post("/v1/tokens", json={"name": "till-1", "role": "pos"}), "POST", "/v1/tokens")
    check(c.delete("/v1/tokens/till-1"), "DELETE", "/v1/tokens/{name}")
    check(c.delete("/v1/tokens/till-1"), "DELETE", "/v1/tokens/{name}")  # 404
    check(c.get("/v1/audit?limit=5"), "GET", "/v1/audit")


def test_error_answers_match_the_error_body(shop):
    c = shop
    pos = {"Authorization": f"Bearer {token(c, 'pos')}"}
    check(c.get("/v1/printers/nope"), "GET", "/v1/printers/{printer_id}")
    check(c.get("/v1/jobs/nope"), "GET", "/v1/jobs/{job_id}")
    check(c.get("/v1/jobs?limit=0"), "GET", "/v1/jobs")
    check(c.post("/v1/jobs", json={"printer": "zebra"}), "POST", "/v1/jobs")
    check(c.post("/v1/jobs", json={"printer": "nope", "raw": {"data": "x"}}), "POST", "/v1/jobs")
    check(c.post("/v1/jobs", content=b"x", headers={"Content-Type": "text/plain"}), "POST",
          "/v1/jobs")
    check(c.post("/v1/jobs", json={"printer": "zebra", "raw": {"data": "^XA^JUF^XZ"}},
                 headers=pos), "POST", "/v1/jobs")  # 403 forbidden-command
    check(c.get("/v1/tokens", headers=pos), "GET", "/v1/tokens")  # 403 insufficient-role
    check(c.get("/v1/tokens", headers={"Authorization": "Bearer lbd_nope"}), "GET", "/v1/tokens")
    check(c.get("/v1/policy/epl"), "GET", "/v1/policy/{language}")


@pytest.mark.parametrize("label, code", [
    # The render layer still validates labels, with its own codes: the document describes the
    # label, the edge did not become stricter (or it would answer invalid-request first).
    ({"width_mm": 60, "height_mm": 40, "elements": [
        {"type": "barcode", "symbology": "ean13", "data": "5901234123458", "x_mm": 8,
         "y_mm": 8}]}, "bad-check-digit"),
    ({"width_mm": "60", "height_mm": 40}, "invalid-label"),
    ({"width_mm": 60, "height_mm": 40, "colour": "red"}, "invalid-label"),
    ({"width_mm": 60, "height_mm": 40, "elements": [{"type": "circle"}]}, "invalid-label"),
    ({"width_mm": 60, "height_mm": 40, "elements": [
        {"type": "barcode", "symbology": "ean14", "data": "1", "x_mm": 1, "y_mm": 1}]},
     "unknown-symbology"),
])
def test_a_bad_label_still_gets_the_render_layers_code(shop, label, code):
    schemas.JobRequest.model_validate({"printer": "zebra", "label": label})  # the edge lets it by
    resp = shop.post("/v1/jobs", json={"printer": "zebra", "label": label})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == code, resp.text


def test_the_examples_name_nothing_of_a_shop():
    text = str(SPEC)
    assert not re.search(r"127\.0\.0\.1|192\.0\.2\.1|lbd_[A-Za-z0-9_-]{20,}", text)


MODELS = [m for m in vars(schemas).values() if isinstance(m, type)
          and issubclass(m, schemas.BaseModel) and m is not schemas.BaseModel]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_example_is_valid_for_its_model(model):
    extra = model.model_config.get("json_schema_extra") or {}
    for example in extra.get("examples", []):
        model.model_validate(example, extra=None if model.model_config.get("extra") else "forbid")


@pytest.mark.parametrize("name", list(schemas.JOB_EXAMPLES))
def test_every_job_request_example_is_a_valid_job(name):
    body = schemas.JobRequest.model_validate(schemas.JOB_EXAMPLES[name]["value"])
    if body.label is not None:
        parse_label(body.label, default_dpi=203)
