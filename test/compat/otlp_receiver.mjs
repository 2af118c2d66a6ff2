// A test OTLP/HTTP trace receiver: every POST /v1/traces body must be an OTLP/JSON
// ExportTraceServiceRequest as the OpenTelemetry JavaScript project's generated protobuf code
// (@opentelemetry/otlp-transformer's generated root) reads it. The trace and span ids must be
// lowercase hex of 16 and 8 bytes; the body is converted with fromObject, verified, encoded to
// protobuf, decoded again and turned back into JSON, which must equal the body field for field
// (so an unknown field, a value of the wrong type, an enum by name or a 64-bit integer as a
// JSON number fails). A body that fails is answered 400 and reported.
// Usage: node otlp_receiver.mjs PORT [MODE]   (MODE "down": answer 503 to everything)
// Prints one JSON line per request on stdout: {"ok":true,"headers":{..},"request":{..}} with ids
// in hex, or {"ok":false,"error":".."}.
import { createRequire } from "node:module";
import http from "node:http";

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ID_BYTES = { traceId: 16, spanId: 8, parentSpanId: 8 };

function fail(path, msg) {
  throw new Error(`${path}: ${msg}`);
}

// The ids: lowercase hex of their exact size, not all zero (checked before conversion).
function checkIds(o, path) {
  if (Array.isArray(o)) return o.forEach((x, i) => checkIds(x, `${path}[${i}]`));
  if (!o || typeof o !== "object") return;
  for (const [k, v] of Object.entries(o)) {
    const n = ID_BYTES[k];
    if (n && (typeof v !== "string" || !new RegExp(`^[0-9a-f]{${2 * n}}$`).test(v) || /^0+$/.test(v)))
      fail(`${path}.${k}`, `${2 * n} lowercase hex digits (not all zero) expected, got ${JSON.stringify(v)}`);
    if (!n) checkIds(v, `${path}.${k}`);
  }
}

const isDefault = (v) => v === 0 || v === "0" || v === "" || v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (v && typeof v === "object" && !Array.isArray(v) && Object.values(v).every(isDefault));

// The body against what the generated code made of it: every field the body has must come back
// with the same JSON value (so unknown fields, wrong types, enum names, 64-bit integers as
// numbers all fail), or be a default value the encoding leaves out; nothing may be invented.
function sameShape(orig, rt, path) {
  if (Array.isArray(orig)) {
    if (!Array.isArray(rt) || rt.length !== orig.length) fail(path, "array changed in the round trip");
    return orig.forEach((x, i) => sameShape(x, rt[i], `${path}[${i}]`));
  }
  if (orig && typeof orig === "object") {
    if (!rt || typeof rt !== "object") fail(path, "object expected");
    for (const [k, v] of Object.entries(orig)) {
      if (rt[k] === undefined) {
        if (!isDefault(v)) fail(`${path}.${k}`, "unknown field, or a value of the wrong type");
        continue;
      }
      sameShape(v, rt[k], `${path}.${k}`);
    }
    for (const k of Object.keys(rt))
      if (orig[k] === undefined) fail(`${path}.${k}`, "field invented by the conversion (wrong type?)");
    return;
  }
  if (orig !== rt) fail(path, `${JSON.stringify(orig)} read back as ${JSON.stringify(rt)}`);
}

// The JSON mapping's hex ids become bytes for protobufjs (whose fromObject reads base64).
function idsToBytes(o) {
  if (Array.isArray(o)) return o.map(idsToBytes);
  if (o && typeof o === "object") {
    const r = {};
    for (const [k, v] of Object.entries(o)) r[k] = ID_BYTES[k] ? Buffer.from(v, "hex") : idsToBytes(v);
    return r;
  }
  return o;
}

function idsToHex(o) {
  if (Array.isArray(o)) return o.map(idsToHex);
  if (o && typeof o === "object") {
    const r = {};
    for (const [k, v] of Object.entries(o)) r[k] = ID_BYTES[k] ? Buffer.from(v, "base64").toString("hex") : idsToHex(v);
    return r;
  }
  return o;
}

export function decode(body) {
  const obj = JSON.parse(body);
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.resourceSpans)) fail("request", "resourceSpans expected");
  checkIds(obj, "ExportTraceServiceRequest");
  const msg = Req.fromObject(idsToBytes(obj));
  const err = Req.verify(msg);
  if (err) fail("ExportTraceServiceRequest", err);
  const again = Req.decode(Req.encode(msg).finish());
  const out = idsToHex(Req.toObject(again, { longs: String, enums: Number, bytes: String, defaults: false }));
  sameShape(obj, out, "ExportTraceServiceRequest");
  return out;
}

const port = Number(process.argv[2] || 0);
const mode = process.argv[3] || "ok";
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const answer = (status, text) => {
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (mode === "down") return answer(503, "{}");
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      console.log(JSON.stringify({ ok: false, error: `unexpected ${req.method} ${req.url}` }));
      return answer(404, "{}");
    }
    try {
      if (!String(req.headers["content-type"] || "").startsWith("application/json"))
        fail("request", "Content-Type application/json expected");
      const request = decode(body);
      console.log(JSON.stringify({ ok: true, headers: req.headers, raw: body, request }));
      answer(200, "{}");
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e.message || e), raw: body.slice(0, 2000) }));
      answer(400, JSON.stringify({ error: String(e.message || e) }));
    }
  });
});
server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
