// Deployment artefacts: k8s/ manifests, examples/compose/ and the Dockerfile.
//
// - Every YAML document under k8s/ parses (YAML 1.1, as Kubernetes reads it) and is validated
//   against the Kubernetes OpenAPI schemas with the matching `kubernetes-models` class; Istio
//   objects with `@kubernetes-models/istio`. No such package exists for Linkerd, so its
//   ServiceProfile gets a structural check written from the linkerd.io/v1alpha2 CRD.
// - Every kustomization is built the way kustomize does for the features used here (resources,
//   namespace, images, JSON 6902 patches) and the built objects are validated again.
// - The forms keep their promises: native sidecar, probes, resources, securityContext, directory
//   mounts, the key from a Secret, OPENAI_BASE_URL, grace period >= drain + shutdown deadline.
// - Every policy config (ConfigMaps in k8s/, files in examples/) passes `kt policy validate`.
// - The probe commands and the Dockerfile's HEALTHCHECK really work against a running kt.
// - The compose files parse and reference files, services and variables that exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import http from "node:http";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const K8S = path.join(ROOT, "k8s");
const COMPOSE = path.join(ROOT, "examples", "compose");
const KT = process.env.KT_BIN || [path.join(ROOT, "build", "san", "kt"), path.join(ROOT, "build", "kt")]
  .find((p) => fs.existsSync(p));
const KT_PORT = "41002";
const MI = 1024 * 1024;

// ---- helpers ------------------------------------------------------------------------------------

function walk(dir, pred) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, pred));
    else if (pred(p)) out.push(p);
  }
  return out.sort();
}

const rel = (p) => path.relative(ROOT, p);
const isYaml = (p) => /\.ya?ml$/.test(p);
const isKustomization = (p) => path.basename(p) === "kustomization.yaml";

/** All documents of a manifest file, parsed as Kubernetes does (YAML 1.1: 0440 is octal). */
function loadDocs(file) {
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1", prettyErrors: true });
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${rel(file)}: ${d.errors.map((e) => e.message).join("; ")}`);
    const obj = d.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
  return out;
}

const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  let spec;
  if (group.endsWith(".istio.io")) spec = `@kubernetes-models/istio/${group}/${version}/${kind}`;
  else if (group === "" || group.endsWith(".k8s.io") || !group.includes("."))
    spec = `kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`;
  else return null;
  if (!modelCache.has(spec)) {
    let cls = null;
    try { cls = (await import(spec))[kind] ?? null; } catch { cls = null; }
    modelCache.set(spec, cls);
  }
  const cls = modelCache.get(spec);
  if (!cls) throw new Error(`no kubernetes-models class for ${apiVersion} ${kind}`);
  return cls;
}

// linkerd.io/v1alpha2 ServiceProfile, from the CRD's openAPIV3Schema (no npm models exist).
function checkServiceProfile(o, where) {
  const fail = (m) => { throw new Error(`${where}: ServiceProfile ${m}`); };
  const only = (obj, keys, at) => {
    for (const k of Object.keys(obj)) if (!keys.includes(k)) fail(`unknown field ${at}.${k}`);
  };
  only(o, ["apiVersion", "kind", "metadata", "spec"], "");
  if (!/\.svc\.cluster\.local$/.test(o.metadata?.name ?? "")) fail("name must be the service's FQDN");
  const spec = o.spec ?? fail("needs spec");
  only(spec, ["routes", "retryBudget", "dstOverrides", "opaquePorts"], "spec");
  if (!Array.isArray(spec.routes) || spec.routes.length === 0) fail("needs spec.routes");
  const dur = (v, at) => { if (typeof v !== "string" || !/^\d+(ms|s|m|h)$/.test(v)) fail(`${at} must be a duration`); };
  const checkCond = (c, at) => {
    only(c, ["method", "pathRegex", "all", "any", "not"], at);
    if (c.method !== undefined && !/^[A-Z]+$/.test(c.method)) fail(`${at}.method`);
    if (c.pathRegex !== undefined) { if (typeof c.pathRegex !== "string") fail(`${at}.pathRegex`); new RegExp(c.pathRegex); }
  };
  spec.routes.forEach((r, i) => {
    const at = `spec.routes[${i}]`;
    only(r, ["name", "condition", "responseClasses", "isRetryable", "timeout"], at);
    if (typeof r.name !== "string" || !r.name) fail(`${at}.name is required`);
    if (!r.condition) fail(`${at}.condition is required`);
    checkCond(r.condition, `${at}.condition`);
    if (r.timeout !== undefined) dur(r.timeout, `${at}.timeout`);
    if (r.isRetryable !== undefined && typeof r.isRetryable !== "boolean") fail(`${at}.isRetryable`);
    (r.responseClasses ?? []).forEach((rc, j) => {
      only(rc, ["condition", "isFailure"], `${at}.responseClasses[${j}]`);
      only(rc.condition ?? fail("responseClass needs condition"), ["status", "all", "any", "not"], `${at}.responseClasses[${j}].condition`);
      const st = rc.condition.status;
      if (st) for (const k of ["min", "max"]) if (st[k] !== undefined && !(Number.isInteger(st[k]) && st[k] >= 100 && st[k] <= 599)) fail(`${at} status.${k}`);
    });
  });
  if (spec.retryBudget) {
    only(spec.retryBudget, ["retryRatio", "minRetriesPerSecond", "ttl"], "spec.retryBudget");
    if (typeof spec.retryBudget.retryRatio !== "number") fail("retryBudget.retryRatio");
    if (!Number.isInteger(spec.retryBudget.minRetriesPerSecond)) fail("retryBudget.minRetriesPerSecond");
    dur(spec.retryBudget.ttl, "retryBudget.ttl");
  }
}

async function validateObject(o, where) {
  assert.ok(o && typeof o === "object", `${where}: not a mapping`);
  assert.ok(typeof o.apiVersion === "string" && typeof o.kind === "string", `${where}: apiVersion and kind`);
  assert.ok(o.metadata?.name, `${where}: metadata.name`);
  if (o.apiVersion === "linkerd.io/v1alpha2" && o.kind === "ServiceProfile") return checkServiceProfile(o, where);
  const Cls = await modelFor(o.apiVersion, o.kind);
  try {
    new Cls(structuredClone(o)).validate();
  } catch (e) {
    throw new Error(`${where}: ${o.kind}/${o.metadata.name}: ${e.message}`);
  }
}

// ---- a small kustomize: resources, namespace, images, JSON 6902 patches --------------------------

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass"]);

function pointer(p) {
  assert.ok(p.startsWith("/"), `JSON pointer ${p}`);
  return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function applyOps(obj, ops, where) {
  assert.ok(Array.isArray(ops), `${where}: a patch is a list of operations`);
  for (const op of ops) {
    const keys = pointer(op.path);
    const last = keys.pop();
    let parent = obj;
    for (const k of keys) {
      parent = Array.isArray(parent) ? parent[Number(k)] : parent?.[k];
      assert.ok(parent && typeof parent === "object", `${where}: ${op.op} ${op.path}: parent missing`);
    }
    if (op.op === "add") {
      if (Array.isArray(parent)) parent.splice(last === "-" ? parent.length : Number(last), 0, op.value);
      else parent[last] = op.value;
    } else if (op.op === "replace") {
      assert.ok(last in parent, `${where}: replace ${op.path}: missing`);
      parent[last] = op.value;
    } else if (op.op === "remove") {
      assert.ok(last in parent, `${where}: remove ${op.path}: missing`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1); else delete parent[last];
    } else {
      throw new Error(`${where}: unsupported op ${op.op}`);
    }
  }
}

function podSpecs(o) {
  if (o.kind === "Pod") return [o.spec];
  const t = o.spec?.template?.spec;
  return t ? [t] : [];
}

function allContainers(spec) {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

function build(dir) {
  const kfile = path.join(dir, "kustomization.yaml");
  assert.ok(fs.existsSync(kfile), `${rel(dir)}: no kustomization.yaml`);
  const [k] = loadDocs(kfile);
  const where = rel(kfile);
  assert.equal(k.apiVersion, "kustomize.config.k8s.io/v1beta1", where);
  assert.equal(k.kind, "Kustomization", where);
  for (const key of Object.keys(k))
    assert.ok(["apiVersion", "kind", "resources", "namespace", "images", "patches"].includes(key),
      `${where}: '${key}' is not handled by this check; extend build() first`);
  const objs = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    assert.ok(p.startsWith(K8S + path.sep), `${where}: resource ${r} is outside k8s/`);
    assert.ok(fs.existsSync(p), `${where}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) objs.push(...build(p));
    else objs.push(...loadDocs(p));
  }
  for (const [i, pt] of (k.patches ?? []).entries()) {
    const at = `${where}: patches[${i}]`;
    assert.ok(pt.target && typeof pt.patch === "string", `${at}: needs target and an inline patch`);
    const targets = objs.filter((o) => (!pt.target.kind || o.kind === pt.target.kind) &&
      (!pt.target.name || o.metadata.name === pt.target.name));
    assert.ok(targets.length > 0, `${at}: matches no object`);
    const ops = parse(pt.patch, { version: "1.1" });
    for (const t of targets) applyOps(t, ops, at);
  }
  if (k.namespace)
    for (const o of objs) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  for (const img of k.images ?? [])
    for (const o of objs) for (const spec of podSpecs(o)) for (const c of allContainers(spec)) {
      const name = c.image.replace(/[@:][^/]*$/, "");
      if (name === img.name) c.image = `${img.newName ?? img.name}:${img.newTag ?? "latest"}`;
    }
  const seen = new Set();
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    assert.ok(!seen.has(id), `${where}: ${id} appears twice`);
    seen.add(id);
  }
  return objs;
}

// ---- the policy config inside the ConfigMaps ------------------------------------------------------

function durationSeconds(v) {
  if (typeof v === "number") return v;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(String(v));
  assert.ok(m, `duration ${v}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "s"];
}

function quantityBytes(q) {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(q));
  assert.ok(m, `memory quantity ${q} (use Ki/Mi/Gi)`);
  return Number(m[1]) * { Ki: 1024, Mi: MI, Gi: 1024 * MI }[m[2] ?? ""] || Number(m[1]);
}

function ktValidate(file) {
  assert.ok(KT, "no kt binary: run make san (or set KT_BIN)");
  const r = spawnSync(KT, ["policy", "validate", file], { encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, `kt policy validate ${file}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kt-deploy-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

const manifestFiles = walk(K8S, isYaml);
const overlayDirs = walk(K8S, isKustomization).map(path.dirname);
const builds = new Map(overlayDirs.map((d) => [rel(d), build(d)]));

function configMapPolicies() {
  const out = [];
  for (const f of manifestFiles.filter((p) => !isKustomization(p)))
    for (const o of loadDocs(f))
      if (o.kind === "ConfigMap")
        for (const [key, text] of Object.entries(o.data ?? {}))
          if (key.endsWith(".yaml")) out.push({ file: f, name: o.metadata.name, key, text });
  return out;
}

function ktContainer(spec) {
  const c = allContainers(spec).filter((x) => x.name === "kt" || /(^|\/)kt(:|$)/.test(x.image));
  assert.equal(c.length, 1, "exactly one kt container");
  return c[0];
}

// ---- tests --------------------------------------------------------------------------------------

test("k8s: every manifest parses and validates against the Kubernetes / Istio schemas", async () => {
  let n = 0;
  for (const f of manifestFiles.filter((p) => !isKustomization(p)))
    for (const [i, o] of loadDocs(f).entries()) { await validateObject(o, `${rel(f)}#${i}`); n++; }
  assert.ok(n >= 15, `only ${n} objects found under k8s/`);
});

test("k8s: schema validation rejects a broken object (the validator is real)", async () => {
  const Cls = await modelFor("apps/v1", "Deployment");
  const bad = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" },
    spec: { selector: { matchLabels: { a: "b" } }, template: { spec: { containers: [{ name: "c", resources: { limits: { memory: "64 potatoes" } } }] } } } };
  assert.throws(() => new Cls(bad).validate());
  assert.throws(() => checkServiceProfile({ apiVersion: "linkerd.io/v1alpha2", kind: "ServiceProfile",
    metadata: { name: "a.b.svc.cluster.local" }, spec: { routes: [{ name: "r", condition: { method: "POST" }, timeout: "soon" }] } }, "t"));
});

test("k8s: every kustomization builds and its output validates", async () => {
  for (const d of ["base", "overlays/classic-sidecar", "overlays/shared-gateway", "overlays/shared-gateway-redis", "overlays/istio", "overlays/istio-sidecar", "overlays/linkerd"])
    assert.ok(builds.has(path.join("k8s", d)), `k8s/${d} has a kustomization`);
  for (const [dir, objs] of builds) {
    assert.ok(objs.length > 0, dir);
    for (const o of objs) await validateObject(o, `${dir} (built)`);
    for (const o of objs) for (const spec of podSpecs(o)) for (const c of allContainers(spec))
      assert.notEqual(c.image, "kt", `${dir}: the kt image name is set by images:`);
  }
});

test("k8s: every policy ConfigMap holds a valid kt config", () => {
  const cms = configMapPolicies();
  assert.ok(cms.length >= 1);
  for (const cm of cms) {
    const f = path.join(tmp, `${cm.name}-${cm.key}`);
    fs.writeFileSync(f, cm.text);
    const out = ktValidate(f);
    assert.match(out, /ok \(pack /);
    const cfg = parse(cm.text);
    assert.ok(cfg.pack?.name, `${rel(cm.file)}: pack form`);
    for (const p of ["pii-detector", "dlp-filter", "safety-filter", "prompt-injection", "audit-logger"])
      assert.ok(cfg.policies.chain.includes(p), `${rel(cm.file)}: chain has ${p}`);
  }
});

function policyConfigFrom(objs) {
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "kt-policy-config");
  assert.ok(cm, "kt-policy-config ConfigMap is part of the build");
  return parse(cm.data["policy-config.yaml"]);
}

function checkKtPod(dir, spec, cfg, { native, memLimitMax, listen }) {
  const kt = ktContainer(spec);
  const where = `${dir}: kt`;
  if (native) {
    assert.ok((spec.initContainers ?? []).includes(kt), `${where} is an init container`);
    assert.equal(kt.restartPolicy, "Always", `${where}: restartPolicy Always (native sidecar)`);
  } else {
    assert.ok((spec.containers ?? []).includes(kt), `${where} is a regular container`);
    assert.equal(kt.restartPolicy, undefined);
  }
  assert.deepEqual(kt.args.slice(0, 2), ["gateway", "run"]);
  assert.equal(kt.args[kt.args.indexOf("--listen") + 1], listen, `${where}: --listen`);
  // probes: /readyz for startup and readiness, /healthz for liveness, all httpGet (no exec, no
  // bash). With the API on loopback they go to the ops listener on the pod IP.
  const loopback = listen.startsWith("127.");
  if (loopback) {
    assert.equal(kt.args[kt.args.indexOf("--ops-listen") + 1], "0.0.0.0:41003", `${where}: --ops-listen`);
    assert.ok(kt.ports.some((p) => p.name === "kt-ops" && p.containerPort === 41003), `${where}: kt-ops port`);
  }
  for (const [name, pathWant] of [["startupProbe", "/readyz"], ["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"]]) {
    const p = kt[name];
    assert.ok(p, `${where}: ${name}`);
    assert.ok(p.httpGet && !p.exec, `${where}: ${name} is an httpGet probe`);
    assert.equal(p.httpGet.path, pathWant, `${where}: ${name} asks ${pathWant}`);
    if (loopback) assert.equal(p.httpGet.port, "kt-ops", `${where}: ${name}: kubelet httpGet cannot reach 127.0.0.1; the ops port`);
  }
  // resources
  const lim = quantityBytes(kt.resources.limits.memory);
  const req = quantityBytes(kt.resources.requests.memory);
  assert.ok(lim <= memLimitMax, `${where}: memory limit ${kt.resources.limits.memory}`);
  assert.ok(req >= 27 * 1000 * 1000 && req <= lim, `${where}: memory request covers the measured 27 MB peak`);
  assert.ok(kt.resources.requests.cpu, `${where}: cpu request`);
  // security
  const sc = kt.securityContext;
  assert.equal(sc.runAsNonRoot, true);
  assert.equal(sc.runAsUser, 65532);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  assert.equal(sc.seccompProfile.type, "RuntimeDefault");
  // the policy ConfigMap mounted as a directory
  const vols = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const cfgMount = kt.volumeMounts.find((m) => m.mountPath === "/etc/keeptrusts");
  assert.ok(cfgMount, `${where}: /etc/keeptrusts mounted`);
  assert.equal(cfgMount.subPath, undefined, `${where}: no subPath (it never updates)`);
  assert.equal(vols.get(cfgMount.name)?.configMap?.name, "kt-policy-config");
  // the provider key: secret_key_ref file lives on a mounted Secret
  const ref = cfg.providers.targets[0].secret_key_ref;
  assert.ok(ref.file, "the k8s config reads the key from a file");
  const keyMount = kt.volumeMounts.find((m) => ref.file.startsWith(m.mountPath + "/"));
  assert.ok(keyMount, `${where}: ${ref.file} is on a mount`);
  const sec = vols.get(keyMount.name)?.secret;
  assert.ok(sec, `${where}: the key mount is a Secret`);
  const item = (sec.items ?? []).find((it) => path.posix.join(keyMount.mountPath, it.path) === ref.file);
  assert.ok(item, `${where}: the Secret projects ${ref.file}`);
  assert.equal(sec.defaultMode, 0o440);
  assert.equal(spec.securityContext?.fsGroup, 65532, `${where}: fsGroup lets uid 65532 read the 0440 key`);
  // graceful stop
  const need = durationSeconds(cfg.gateway.drain_period) + durationSeconds(cfg.gateway.shutdown_deadline);
  assert.ok(spec.terminationGracePeriodSeconds >= need, `${where}: grace period ${spec.terminationGracePeriodSeconds} < ${need}`);
  return kt;
}

test("k8s: the native sidecar form (base)", () => {
  const objs = builds.get(path.join("k8s", "base"));
  const cfg = policyConfigFrom(objs);
  const d = objs.find((o) => o.kind === "Deployment");
  const spec = d.spec.template.spec;
  checkKtPod("base", spec, cfg, { native: true, memLimitMax: 64 * MI, listen: "127.0.0.1:41002" });
  const app = spec.containers.find((c) => c.name === "app");
  assert.equal(app.env.find((e) => e.name === "OPENAI_BASE_URL").value, "http://localhost:41002/v1");
});

test("k8s: the classic sidecar form", () => {
  const objs = builds.get(path.join("k8s", "overlays", "classic-sidecar"));
  const spec = objs.find((o) => o.kind === "Deployment").spec.template.spec;
  checkKtPod("classic-sidecar", spec, policyConfigFrom(objs), { native: false, memLimitMax: 64 * MI, listen: "127.0.0.1:41002" });
  assert.equal(spec.initContainers, undefined);
  const app = spec.containers.find((c) => c.name === "app");
  assert.equal(app.env.find((e) => e.name === "OPENAI_BASE_URL").value, "http://localhost:41002/v1");
});

function checkShared(dir) {
  const objs = builds.get(dir);
  const by = (kind) => objs.filter((o) => o.kind === kind);
  const [d] = by("Deployment");
  const labels = d.spec.template.metadata.labels;
  const matches = (sel) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  checkKtPod(dir, d.spec.template.spec, policyConfigFrom(objs), { native: false, memLimitMax: 128 * MI, listen: "0.0.0.0:41002" });
  assert.ok(matches(d.spec.selector.matchLabels));
  const [svc] = by("Service");
  assert.ok(matches(svc.spec.selector), `${dir}: Service selects the kt pods`);
  const kt = ktContainer(d.spec.template.spec);
  const port = svc.spec.ports[0];
  assert.equal(port.port, 41002);
  assert.ok(kt.ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort), `${dir}: Service targetPort`);
  const [hpa] = by("HorizontalPodAutoscaler");
  assert.equal(hpa.spec.scaleTargetRef.name, d.metadata.name);
  assert.ok(hpa.spec.minReplicas >= 2);
  const [np] = by("NetworkPolicy");
  assert.ok(matches(np.spec.podSelector.matchLabels), `${dir}: NetworkPolicy selects the kt pods`);
  assert.ok(np.spec.ingress.some((r) => r.ports.some((p) => p.port === 41002)));
  assert.ok(np.spec.egress.some((r) => r.ports.some((p) => p.port === 443)), `${dir}: egress to providers`);
  assert.ok(np.spec.egress.some((r) => r.ports.some((p) => p.port === 53)), `${dir}: egress to DNS`);
  for (const o of objs) if (o.kind !== "Namespace") assert.equal(o.metadata.namespace, "keeptrusts", `${dir}: ${o.kind} namespace`);
  return { objs, d, svc };
}

test("k8s: the shared gateway (Deployment, Service, HPA, NetworkPolicy)", () => {
  checkShared(path.join("k8s", "overlays", "shared-gateway"));
});

test("k8s: the shared gateway on Redis (shared_state, password from a Secret, Redis reachable only from kt)", () => {
  const dir = path.join("k8s", "overlays", "shared-gateway-redis");
  const { objs, d } = checkShared(dir);
  const cfg = policyConfigFrom(objs);
  const redisCfg = cfg.gateway.shared_state.redis;
  assert.match(redisCfg.url, /^redis:\/\/kt-redis:6379\/\d+$/);
  assert.deepEqual(redisCfg.password_ref, { env: "REDIS_PASSWORD" });
  assert.ok(cfg.consumers.length >= 3, `${dir}: the teams are consumers`);
  for (const p of ["spend-limit", "rate-limit"]) assert.ok(cfg.policies.chain.includes(p), `${dir}: chain has ${p}`);
  const kt = ktContainer(d.spec.template.spec);
  const pw = kt.env.find((e) => e.name === "REDIS_PASSWORD");
  assert.equal(pw?.valueFrom?.secretKeyRef?.name, "kt-redis", `${dir}: kt's REDIS_PASSWORD from the kt-redis Secret`);
  const rd = objs.find((o) => o.kind === "Deployment" && o.metadata.name === "kt-redis");
  assert.ok(rd, `${dir}: a kt-redis Deployment`);
  const rc = rd.spec.template.spec.containers[0];
  assert.ok(rc.args.includes("--requirepass") && rc.env.some((e) => e.valueFrom?.secretKeyRef?.name === "kt-redis"));
  assert.ok(objs.some((o) => o.kind === "Service" && o.metadata.name === "kt-redis"));
  const np = objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "kt-redis");
  assert.deepEqual(np.spec.ingress.map((r) => r.from[0].podSelector.matchLabels), [d.spec.template.metadata.labels]);
  assert.deepEqual(np.spec.egress, []);
  const out = objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "kt-gateway-to-redis");
  assert.ok(out.spec.egress.some((r) => r.ports.some((p) => p.port === 6379)), `${dir}: kt's egress to Redis`);
});

test("k8s: the Istio variants", () => {
  const { objs, d, svc } = checkShared(path.join("k8s", "overlays", "istio"));
  const fqdn = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
  assert.equal(d.spec.template.metadata.annotations["sidecar.istio.io/inject"], "true");
  assert.equal(d.spec.template.metadata.annotations["kubectl.kubernetes.io/default-container"], "kt");
  const kinds = new Set(objs.map((o) => o.kind));
  for (const k of ["VirtualService", "AuthorizationPolicy", "PeerAuthentication", "DestinationRule"]) assert.ok(kinds.has(k), k);
  const vs = objs.find((o) => o.kind === "VirtualService");
  assert.ok(vs.spec.hosts.includes(fqdn));
  for (const r of vs.spec.http) for (const dst of r.route) assert.equal(dst.destination.host, fqdn);
  assert.equal(objs.find((o) => o.kind === "PeerAuthentication").spec.mtls.mode, "STRICT");
  const side = builds.get(path.join("k8s", "overlays", "istio-sidecar"));
  const sd = side.find((o) => o.kind === "Deployment");
  assert.equal(sd.spec.template.metadata.annotations["sidecar.istio.io/inject"], "true");
  checkKtPod("istio-sidecar", sd.spec.template.spec, policyConfigFrom(side), { native: true, memLimitMax: 64 * MI, listen: "127.0.0.1:41002" });
});

test("k8s: the Linkerd variant", () => {
  const { objs, d, svc } = checkShared(path.join("k8s", "overlays", "linkerd"));
  assert.equal(d.spec.template.metadata.annotations["linkerd.io/inject"], "enabled");
  const sp = objs.find((o) => o.kind === "ServiceProfile");
  assert.equal(sp.metadata.name, `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`);
  assert.equal(sp.metadata.namespace, svc.metadata.namespace);
});

// ---- running kt: the probes and the Dockerfile's HEALTHCHECK ----------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function get(port, p) {
  return new Promise((resolve) => {
    const r = http.get({ host: "127.0.0.1", port, path: p, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode); });
    r.on("error", () => resolve(0));
    r.on("timeout", () => { r.destroy(); resolve(0); });
  });
}

function dockerfileHealthcheck() {
  const text = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const m = /^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$/m.exec(text);
  assert.ok(m, "Dockerfile has HEALTHCHECK ... CMD [exec form]");
  return JSON.parse(m[1]);
}

function runWithPort(cmd, port) {
  const argv = cmd.map((a) => a.replaceAll(`/${KT_PORT}`, `/${port}`));
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 10000 });
  return r.status;
}

test("Dockerfile: multi-stage trixie, non-root 65532, kt entrypoint", () => {
  const text = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
  assert.match(text, /^FROM debian:trixie AS build$/m);
  assert.match(text, /^FROM debian:trixie-slim$/m);
  assert.match(text, /^USER 65532:65532$/m);
  assert.match(text, /^ENTRYPOINT \["kt"\]$/m);
  assert.match(text, /^CMD \["gateway", "run"\]$/m);
  assert.match(text, /^ENV KT_OPS_LISTEN=0\.0\.0\.0:41003$/m, "the image opens the ops listener for probes");
  assert.match(text, /^EXPOSE 41002 41003$/m);
  assert.match(text, /^RUN make /m);
  for (const lib of ["libuv1t64", "libmbedtls21", "libmbedx509-7", "libmbedcrypto16", "libllhttp9.2", "libyaml-0-2", "libpcre2-8-0"])
    assert.ok(text.includes(lib), `runtime installs ${lib}`);
  assert.ok(fs.existsSync(path.join(ROOT, ".dockerignore")));
});

test("probes and HEALTHCHECK work against kt running the ConfigMap's config; readiness fails on SIGTERM", async () => {
  assert.ok(KT, "no kt binary");
  const dir = path.join(tmp, "etc-keeptrusts");
  fs.mkdirSync(dir, { recursive: true });
  // The Secret's key file, here in the temp dir: without a key no target can serve, and /readyz
  // (rightly) says 503.
  const keyFile = path.join(dir, "openai-api-key");
  fs.writeFileSync(keyFile, "sk-test-deploy-key\n", { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "policy-config.yaml"),
    configMapPolicies()[0].text.replaceAll("/var/run/secrets/kt/openai-api-key", keyFile));
  const port = await freePort();
  const opsPort = await freePort();
  const env = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? "detect_leaks=1" };
  const kt = spawn(KT, ["gateway", "run", "--listen", `127.0.0.1:${port}`, "--ops-listen", `127.0.0.1:${opsPort}`,
    "--policy-config", path.join(dir, "policy-config.yaml")], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  kt.stderr.on("data", (b) => { stderr += b; });
  const exited = new Promise((resolve) => kt.on("exit", (code, sig) => resolve({ code, sig })));
  // What the kubelet does with an httpGet probe on the kt-ops port: 200-399 passes.
  const probe = async (p) => { assert.equal(p.httpGet.port, "kt-ops"); const st = await get(opsPort, p.httpGet.path); return st >= 200 && st < 400; };
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) { up = (await get(opsPort, "/readyz")) === 200; if (!up) await new Promise((r) => setTimeout(r, 100)); }
    assert.ok(up, `kt did not become ready:\n${stderr}`);
    const spec = builds.get(path.join("k8s", "base")).find((o) => o.kind === "Deployment").spec.template.spec;
    const ktc = ktContainer(spec);
    for (const name of ["startupProbe", "readinessProbe", "livenessProbe"])
      assert.ok(await probe(ktc[name]), `${name} passes while kt runs`);
    assert.equal(await get(opsPort, "/v1/models"), 404, "the ops port serves no API");
    assert.equal(runWithPort(dockerfileHealthcheck(), port), 0, "HEALTHCHECK passes while kt runs");
    kt.kill("SIGTERM");
    let draining = false;
    for (let i = 0; i < 30 && !draining; i++) { draining = (await get(opsPort, "/readyz")) === 503; if (!draining) await new Promise((r) => setTimeout(r, 50)); }
    assert.ok(draining, "/readyz answers 503 once SIGTERM started the drain");
    assert.ok(!(await probe(ktc.readinessProbe)), "readiness probe fails while draining");
    assert.ok(await probe(ktc.livenessProbe), "liveness probe still passes while draining");
    let timer;
    const { code } = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r({ code: "timeout" }), 30000); })]);
    clearTimeout(timer);
    assert.equal(code, 0, `kt exits 0 after the drain:\n${stderr}`);
    assert.notEqual(runWithPort(dockerfileHealthcheck(), port), 0, "HEALTHCHECK fails once kt is gone");
  } finally {
    if (kt.exitCode === null && kt.signalCode === null) kt.kill("SIGKILL");
  }
});

// ---- docker compose examples --------------------------------------------------------------------

const composeFiles = walk(COMPOSE, (p) => /(^|\/)(docker-)?compose\.ya?ml$/.test(p));

test("compose: the three forms exist and every shipped policy config validates", () => {
  for (const form of ["shared", "sidecar", "hybrid"])
    assert.ok(composeFiles.some((f) => path.basename(path.dirname(f)) === form), `examples/compose/${form}`);
  const configs = walk(path.join(ROOT, "examples"), (p) => path.basename(p) === "policy-config.yaml");
  assert.ok(configs.length >= 4);
  for (const f of configs) assert.match(ktValidate(f), /ok \(pack /);
});

test("compose: files parse and reference existing files, services and variables", () => {
  for (const f of composeFiles) {
    const where = rel(f);
    const dir = path.dirname(f);
    const doc = parse(fs.readFileSync(f, "utf8"), { merge: true, prettyErrors: true });
    const services = doc.services;
    assert.ok(services && Object.keys(services).length >= 2, `${where}: services`);
    let kts = 0;
    for (const [name, s] of Object.entries(services)) {
      const at = `${where}: ${name}`;
      assert.ok(s.image || s.build, `${at}: image or build`);
      if (s.build) {
        const ctx = path.resolve(dir, s.build.context ?? s.build);
        assert.ok(fs.existsSync(path.join(ctx, s.build.dockerfile ?? "Dockerfile")), `${at}: build context has the Dockerfile`);
      }
      for (const dep of Object.keys(Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((x) => [x, 1])) : s.depends_on ?? {}))
        assert.ok(services[dep], `${at}: depends_on ${dep}`);
      if (s.network_mode?.startsWith("service:")) assert.ok(services[s.network_mode.slice(8)], `${at}: ${s.network_mode}`);
      const mounts = (s.volumes ?? []).map((v) => (typeof v === "string" ? v.split(":") : [v.source, v.target]));
      for (const [src] of mounts) if (src.startsWith(".")) assert.ok(fs.existsSync(path.resolve(dir, src)), `${at}: ${src} exists`);
      const isKt = s.build || /(^|\/)kt(:|$)/.test(s.image ?? "");
      if (!isKt) continue;
      kts++;
      const cfgMount = mounts.find(([, target]) => target === "/etc/keeptrusts");
      assert.ok(cfgMount, `${at}: /etc/keeptrusts mounted (a directory, so edits reach kt)`);
      const cfgFile = path.resolve(dir, cfgMount[0], "policy-config.yaml");
      assert.ok(fs.statSync(path.resolve(dir, cfgMount[0])).isDirectory() && fs.existsSync(cfgFile), `${at}: ${cfgMount[0]}/policy-config.yaml`);
      const cfg = parse(fs.readFileSync(cfgFile, "utf8"));
      for (const t of cfg.providers?.targets ?? [])
        if (t.secret_key_ref?.env) assert.ok(s.environment && t.secret_key_ref.env in s.environment, `${at}: passes ${t.secret_key_ref.env}`);
      const cmd = s.command ?? ["gateway", "run"];
      const listen = cmd.includes("--listen") ? cmd[cmd.indexOf("--listen") + 1] : "127.0.0.1:41002";
      if (s.network_mode?.startsWith("service:")) assert.ok(listen.startsWith("127.0.0.1:"), `${at}: a sidecar listens on loopback`);
      else assert.ok(listen.startsWith("0.0.0.0:"), `${at}: a shared gateway listens on all interfaces of its container`);
      assert.equal(s.read_only, true, `${at}: read_only`);
      assert.deepEqual(s.cap_drop, ["ALL"], `${at}: cap_drop`);
    }
    assert.ok(kts >= 1, `${where}: runs kt`);
    for (const [name, s] of Object.entries(services)) {
      const base = s.environment?.OPENAI_BASE_URL;
      if (!base) continue;
      const u = new URL(base);
      assert.equal(u.pathname, "/v1", `${where}: ${name} OPENAI_BASE_URL ends in /v1`);
      if (u.hostname !== "localhost") assert.ok(services[u.hostname], `${where}: ${name} reaches ${u.hostname}`);
      else assert.ok(Object.values(services).some((k) => k.network_mode === `service:${name}`), `${where}: ${name} has a kt sidecar`);
    }
  }
});
