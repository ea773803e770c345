// Validates rendered Kubernetes manifests (kubectl kustomize output) for
// thesis-server:
//  1. every object against the Kubernetes schemas (kubernetes-models: the
//     model class of its apiVersion/kind, validate()), and strictly: a field
//     the schema does not know is an error too (validate() alone ignores it);
//  2. consistency with the server and the image: probe port and health
//     service names equal the server's (server/main.cc, server/server.h),
//     every environment variable set is one server/main.cc reads, the image
//     of the Deployment and the migration Job is the same, the uid is the
//     Dockerfile's USER, the shutdown and connection budgets add up;
//  3. files the server reads from mounted Secrets: the API keys file
//     (THESIS_API_KEYS_FILE, required) and, when TLS is on, the THESIS_TLS_*
//     files, each in a whole-directory read-only Secret mount holding that
//     key; a rendered keys file must parse as server/common/auth.cc parses
//     it; with TLS the probes cannot be gRPC probes (the kubelet dials
//     plaintext), and the Services must not claim cleartext HTTP/2.
//
//   node validate.mjs --root REPO OVERLAY=rendered.yaml [OVERLAY=rendered.yaml ...]
//
// An overlay named dev (or dev-*) must be self-contained (every Secret
// rendered) and run its own PostgreSQL; prod (or prod-*) must not.
//
// Exit status 1 with one line per problem.
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { checkDockerfile } from "./dockerfile.mjs";

const SERVER = "thesis-server";  // Deployment, container, ServiceAccount and image name
// Created outside the repository in production (see overlays/prod and
// components/tls).
const EXTERNAL_SECRETS = new Set(["thesis-server-secrets", "thesis-api-keys", "thesis-tls"]);
const ROLES = ["reader", "recorder", "writer", "admin"];  // server/common/auth.cc
const MAX_CONN_ANNOTATION = "thesis-server/postgres-max-connections";
const DEFAULT_SUPERUSER_RESERVED = 3;  // PostgreSQL's default

// ---------------------------------------------------------------- server facts

function serverFacts(root) {
  const main = fs.readFileSync(path.join(root, "server/main.cc"), "utf8");
  const header = fs.readFileSync(path.join(root, "server/server.h"), "utf8");
  const impl = fs.readFileSync(path.join(root, "server/server.cc"), "utf8");
  const env = new Map();  // THESIS_* name -> default as a string
  for (const m of main.matchAll(/EnvOr\(\s*"(THESIS_[A-Z0-9_]+)"\s*,\s*("(?:[^"\\]|\\.)*"|[^)]+?)\s*\)/g)) {
    const raw = m[2].trim();
    env.set(m[1], raw.startsWith('"') ? JSON.parse(raw) : raw);
  }
  const constant = (name) => {
    const m = new RegExp(`${name}\\[\\]\\s*=\\s*"([^"]+)"`).exec(header);
    if (!m) throw new Error(`server/server.h: ${name} not found`);
    if (!new RegExp(`SetServingStatus\\(\\s*${name}\\b`).test(impl)) {
      throw new Error(`server/server.cc does not register ${name} with the health service`);
    }
    return m[1];
  };
  if (!env.has("THESIS_LISTEN")) throw new Error("server/main.cc: THESIS_LISTEN not found");
  return { env, liveness: constant("kLivenessService"), readiness: constant("kReadinessService") };
}

function portOf(address) {
  const m = /:(\d+)$/.exec(address ?? "");
  return m ? Number(m[1]) : null;
}

// The API keys file as ParseApiKeys (server/common/auth.cc) reads it: one key
// a line, `name role sha256:HEX [calls_per_second]`, # comments. Returns
// {keys: [{name, role, rate}], error} (the first problem, like the server).
function parseApiKeys(text) {
  const keys = [];
  const hashes = new Set();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const bad = (why) => ({ keys, error: `line ${i + 1}: ${why}` });
    const parts = line.split(/[ \t]+/);
    if (parts.length < 3 || parts.length > 4) return bad("want: name role sha256:HEX [calls_per_second]");
    const [name, role, hash, rate] = parts;
    if (!ROLES.includes(role)) return bad(`the role must be ${ROLES.join(", ")}`);
    if (!/^sha256:[0-9a-fA-F]{64}$/.test(hash)) return bad("the token hash must be sha256: and 64 hex digits");
    if (rate !== undefined && !(/^[0-9.eE+-]+$/.test(rate) && Number(rate) >= 0)) {
      return bad("calls_per_second must be a number >= 0");
    }
    const h = hash.slice(7).toLowerCase();
    if (hashes.has(h)) return bad("the same token hash is listed twice");
    hashes.add(h);
    keys.push({ name, role, rate: rate === undefined ? 0 : Number(rate) });
  }
  return { keys, error: null };
}

// ------------------------------------------------------------ schema checks

const modelModules = new Map();
async function modelClass(apiVersion, kind) {
  const spec = `kubernetes-models/${apiVersion}`;
  if (!modelModules.has(spec)) {
    modelModules.set(spec, await import(spec).catch(() => null));
  }
  const mod = modelModules.get(spec);
  return mod && typeof mod[kind] === "function" ? mod[kind] : null;
}

// Every path the schema validator reads, recorded through a Proxy: a field it
// never reads is one the schema does not define.
function tracked(value, at, seen) {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(target, key)) return v;
      const p = `${at}/${key}`;
      seen.add(p);
      return tracked(v, p, seen);
    },
  });
}
function leafPaths(value, at, out = []) {
  if (value === null || typeof value !== "object") return out;
  for (const [k, v] of Object.entries(value)) {
    out.push(`${at}/${k}`);
    leafPaths(v, `${at}/${k}`, out);
  }
  return out;
}

async function validateSchema(obj, fail) {
  const Model = await modelClass(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(`no Kubernetes schema for ${obj.apiVersion} ${obj.kind} (wrong apiVersion?)`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(`schema: ${e.message}`);
    return;
  }
  const seen = new Set();
  Model.prototype.validate.call(tracked(obj, "", seen));
  // A field is unknown when the validator never read it; report the topmost
  // (its parent was read).
  for (const p of leafPaths(obj, "")) {
    const parent = p.replace(/\/[^/]+$/, "");
    if (!seen.has(p) && (parent === "" || seen.has(parent))) fail(`schema: unknown field ${p}`);
  }
}

// -------------------------------------------------------------- helpers

const podSpec = (o) => o.spec?.template?.spec ?? {};
const podLabels = (o) => o.spec?.template?.metadata?.labels ?? {};
const selects = (selector, labels) =>
  selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const matchLabels = (s) => s?.matchLabels ?? {};
const sameArray = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function imageParts(image) {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  const tag = colon > slash ? noDigest.slice(colon + 1) : null;
  const repo = colon > slash ? noDigest.slice(0, colon) : noDigest;
  return { repo, tag, name: repo.slice(repo.lastIndexOf("/") + 1) };
}

function secretValue(secret, key) {
  if (secret?.stringData?.[key] !== undefined) return secret.stringData[key];
  if (secret?.data?.[key] !== undefined) return Buffer.from(secret.data[key], "base64").toString("utf8");
  return undefined;
}

// ---------------------------------------------------------------- overlay

async function checkOverlay(name, file, server, docker) {
  const errors = [];
  const fail = (msg) => errors.push(`${name}: ${msg}`);
  const stage = name.split("-")[0];  // dev, prod (variants: prod-tls, ...)
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) {
      fail(`YAML: ${d.errors[0].message}`);
      continue;
    }
    const o = d.toJS();
    if (!o) continue;
    // kustomize wraps long base64 values over lines; the API server's base64
    // decoder (Go) skips the newlines, the schema's "byte" format does not.
    for (const field of ["data", "binaryData"]) {
      if ((o.kind === "Secret" || (o.kind === "ConfigMap" && field === "binaryData")) && o[field]) {
        for (const [k, v] of Object.entries(o[field])) {
          if (typeof v === "string") o[field][k] = v.replace(/[\r\n]/g, "");
        }
      }
    }
    objects.push(o);
  }
  if (objects.length === 0) {
    fail("renders no objects");
    return { errors, summary: "" };
  }

  // 1. Schemas.
  for (const o of objects) {
    const id = `${o.kind ?? "?"}/${o.metadata?.name ?? "?"}`;
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
      fail(`${id}: apiVersion, kind and metadata.name are required`);
      continue;
    }
    await validateSchema(o, (m) => fail(`${id}: ${m}`));
  }

  const all = (kind) => objects.filter((o) => o.kind === kind);
  const one = (kind, n) => objects.find((o) => o.kind === kind && o.metadata.name === n);
  const byPrefix = (kind, n) => all(kind).filter((o) => o.metadata.name === n ||
    o.metadata.name.startsWith(`${n}-`));

  // Namespaces: every namespaced object in the overlay's namespace.
  const namespaces = all("Namespace").map((o) => o.metadata.name);
  const namespaced = objects.filter((o) => o.kind !== "Namespace");
  const used = new Set(namespaced.map((o) => o.metadata.namespace));
  if (used.size !== 1 || used.has(undefined)) {
    fail(`objects should all be in one namespace, found: ${[...used].join(", ")}`);
  } else if (!namespaces.includes([...used][0])) {
    fail(`namespace ${[...used][0]} is not created by the overlay`);
  }

  const deployment = one("Deployment", SERVER);
  const jobs = all("Job");
  if (!deployment) {
    fail(`no Deployment ${SERVER}`);
    return { errors, summary: "" };
  }
  const spec = podSpec(deployment);
  const container = (spec.containers ?? []).find((c) => c.name === SERVER) ?? spec.containers?.[0];
  const labels = podLabels(deployment);

  // Effective environment of a container: envFrom ConfigMaps, then env.
  const configMaps = all("ConfigMap");
  const secrets = all("Secret");
  const environment = (c, what) => {
    const envs = new Map();  // name -> {value} | {secret: {name, key}} | {from}
    for (const ef of c.envFrom ?? []) {
      if (ef.configMapRef) {
        const cm = configMaps.find((x) => x.metadata.name === ef.configMapRef.name);
        if (!cm) {
          fail(`${what}: envFrom ConfigMap ${ef.configMapRef.name} is not rendered`);
          continue;
        }
        for (const [k, v] of Object.entries(cm.data ?? {})) envs.set((ef.prefix ?? "") + k, { value: v });
      } else {
        fail(`${what}: envFrom ${JSON.stringify(ef)}: only ConfigMaps (secrets go through secretKeyRef)`);
      }
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) envs.set(e.name, { secret: e.valueFrom.secretKeyRef });
      else if (e.valueFrom) envs.set(e.name, { from: e.valueFrom });
      else envs.set(e.name, { value: e.value ?? "" });
    }
    for (const n of envs.keys()) {
      if (!server.env.has(n)) {
        fail(`${what}: sets ${n}, which server/main.cc does not read (it reads ${[...server.env.keys()].join(", ")})`);
      }
    }
    return envs;
  };
  const env = environment(container, `Deployment ${SERVER}`);
  const setting = (n) => env.get(n)?.value ?? server.env.get(n);

  // Secrets referenced by secretKeyRef: rendered with that key, or external.
  const checkSecretRef = (ref, what) => {
    const s = secrets.find((x) => x.metadata.name === ref.name);
    if (s) {
      if (secretValue(s, ref.key) === undefined) fail(`${what}: Secret ${ref.name} has no key ${ref.key}`);
    } else if (!EXTERNAL_SECRETS.has(ref.name)) {
      fail(`${what}: Secret ${ref.name} is neither rendered nor a documented external Secret`);
    } else if (stage === "dev") {
      fail(`${what}: Secret ${ref.name} is not rendered: the dev overlay must be self-contained`);
    }
    return s;
  };
  const databaseFromSecret = (envs, what) => {
    const db = envs.get("THESIS_DATABASE_URL");
    if (!db?.secret) fail(`${what}: THESIS_DATABASE_URL must come from a Secret (secretKeyRef)`);
    else checkSecretRef(db.secret, what);
    return db?.secret;
  };
  const dbRef = databaseFromSecret(env, `Deployment ${SERVER}`);
  const pageToken = env.get("THESIS_PAGE_TOKEN_SECRET");
  if (!pageToken?.secret) {
    fail("THESIS_PAGE_TOKEN_SECRET must come from a Secret: every replica needs the same one");
  } else {
    checkSecretRef(pageToken.secret, `Deployment ${SERVER}`);
  }
  if (!(container.envFrom ?? []).some((e) => e.configMapRef)) {
    fail("the server configuration should come from a ConfigMap (envFrom configMapRef)");
  }
  for (const o of [deployment, ...jobs]) {
    if (podSpec(o).enableServiceLinks !== false) {
      fail(`${o.kind} ${o.metadata.name}: set enableServiceLinks: false (Service links inject ` +
        "THESIS_*-like variables the server does not read)");
    }
  }

  // Replicas and rollout.
  if (!(deployment.spec.replicas >= 2)) fail(`Deployment replicas ${deployment.spec.replicas}: want at least 2`);
  const strategy = deployment.spec.strategy ?? {};
  if ((strategy.type ?? "RollingUpdate") !== "RollingUpdate" ||
      ![0, "0", "0%"].includes(strategy.rollingUpdate?.maxUnavailable)) {
    fail("Deployment: want a RollingUpdate with maxUnavailable: 0");
  }

  // Ports and probes.
  const grpcPort = portOf(setting("THESIS_LISTEN"));
  if (!grpcPort) fail(`THESIS_LISTEN ${setting("THESIS_LISTEN")}: no fixed port`);
  const ports = container.ports ?? [];
  const grpcContainerPort = ports.find((p) => p.name === "grpc");
  if (grpcContainerPort?.containerPort !== grpcPort) {
    fail(`container port "grpc" ${grpcContainerPort?.containerPort} != THESIS_LISTEN port ${grpcPort}`);
  }
  // TLS: on when a certificate or key is configured (server/server.cc).
  const tlsFiles = ["THESIS_TLS_CERT", "THESIS_TLS_KEY", "THESIS_TLS_CLIENT_CA"].filter((n) => setting(n));
  const tls = Boolean(setting("THESIS_TLS_CERT") || setting("THESIS_TLS_KEY"));
  if (tls && !(setting("THESIS_TLS_CERT") && setting("THESIS_TLS_KEY"))) {
    fail("TLS needs both THESIS_TLS_CERT and THESIS_TLS_KEY (the server refuses to start otherwise)");
  }
  if (!tls && setting("THESIS_TLS_CLIENT_CA")) {
    fail("THESIS_TLS_CLIENT_CA without THESIS_TLS_CERT/THESIS_TLS_KEY (the server refuses to start)");
  }
  const probes = { startupProbe: server.liveness, livenessProbe: server.liveness, readinessProbe: server.readiness };
  for (const [probe, service] of Object.entries(probes)) {
    const p = container[probe];
    if (tls) {
      // The kubelet's gRPC probe dials plaintext and has no client
      // certificate: with TLS on it always fails. A TCP probe on the port is
      // what is left (docs/deploy.md, "TLS and probes").
      if (p?.grpc) fail(`${probe}: a gRPC probe cannot reach a TLS server (the kubelet dials plaintext); use tcpSocket`);
      else if (!p?.tcpSocket) fail(`${probe}: with TLS on, want a tcpSocket probe on the gRPC port`);
      else if (p.tcpSocket.port !== grpcPort && p.tcpSocket.port !== "grpc") {
        fail(`${probe}: port ${p.tcpSocket.port} != server port ${grpcPort}`);
      }
      continue;
    }
    if (!p?.grpc) {
      fail(`${probe}: want a gRPC probe (grpc: {port, service: ${service}})`);
      continue;
    }
    if (p.grpc.port !== grpcPort) fail(`${probe}: port ${p.grpc.port} != server port ${grpcPort}`);
    if (p.grpc.service !== service) {
      fail(`${probe}: service "${p.grpc.service}" != "${service}" (server/server.h)`);
    }
  }
  // The server serves no metrics unless THESIS_METRICS_LISTEN is set (its
  // default is empty), and the pods are scraped: it must be set.
  const metricsPort = portOf(setting("THESIS_METRICS_LISTEN"));
  if (!metricsPort) {
    fail(`THESIS_METRICS_LISTEN ${JSON.stringify(setting("THESIS_METRICS_LISTEN") ?? "")}: set it to host:port ` +
      "(the server's default is no metrics endpoint)");
  } else {
    const mp = ports.find((p) => p.name === "metrics");
    if (mp?.containerPort !== metricsPort) {
      fail(`container port "metrics" ${mp?.containerPort} != THESIS_METRICS_LISTEN port ${metricsPort}`);
    }
    const scrape = deployment.spec.template.metadata?.annotations?.["prometheus.io/port"];
    if (scrape !== undefined && Number(scrape) !== metricsPort) {
      fail(`prometheus.io/port ${scrape} != metrics port ${metricsPort}`);
    }
  }
  const portByName = new Map(ports.map((p) => [p.name, p.containerPort]));
  const resolvePort = (target) => (typeof target === "string" ? portByName.get(target) : target);

  // Shutdown: preStop pause + drain + grace fit in the termination grace period.
  const preStop = container.lifecycle?.preStop;
  let pause = null;
  if (preStop?.sleep) pause = Number(preStop.sleep.seconds);
  else if (preStop?.exec?.command && /(^|\/)sleep$/.test(preStop.exec.command[0])) pause = Number(preStop.exec.command[1]);
  if (!(pause > 0)) {
    fail("want a preStop pause (exec sleep N or sleep: {seconds: N})");
  } else {
    const drain = Number(setting("THESIS_DRAIN_S"));
    const grace = Number(setting("THESIS_SHUTDOWN_GRACE_S"));
    const period = spec.terminationGracePeriodSeconds ?? 30;
    if (!(period > pause + drain + grace)) {
      fail(`terminationGracePeriodSeconds ${period} must exceed preStop ${pause} + THESIS_DRAIN_S ${drain} + ` +
        `THESIS_SHUTDOWN_GRACE_S ${grace} = ${pause + drain + grace}`);
    }
  }

  // Mounted configuration: the robots list and the class tables.
  const mountOf = (dir) => (container.volumeMounts ?? []).find((m) => m.mountPath.replace(/\/+$/, "") === dir);
  const volume = (n) => (spec.volumes ?? []).find((v) => v.name === n);

  // A file the server reads from a mounted Secret: a whole-directory,
  // read-only mount of a Secret volume that holds the file's key. Returns
  // the file's text when the Secret is rendered, null when it is external.
  const secretVolumesChecked = new Set();
  const secretFile = (variable) => {
    const file = setting(variable);
    const dir = path.posix.dirname(file);
    const base = path.posix.basename(file);
    const mount = mountOf(dir);
    const vol = mount && volume(mount.name);
    if (!mount || mount.subPath || mount.subPathExpr) {
      fail(`${variable} ${file}: want a whole-directory volume mount at ${dir} (a subPath mount never sees Secret updates)`);
      return null;
    }
    if (!vol?.secret?.secretName) {
      fail(`${variable} ${file}: the volume mounted at ${dir} is not a Secret`);
      return null;
    }
    secretVolumesChecked.add(vol.name);
    if (mount.readOnly !== true) fail(`${variable}: mount ${dir} read-only`);
    // With items, only the listed keys appear, under their paths.
    const item = (vol.secret.items ?? []).find((i) => i.path === base);
    if (vol.secret.items && !item) {
      fail(`${variable} ${file}: the Secret volume's items do not project ${base}`);
      return null;
    }
    const key = item ? item.key : base;
    const secretName = vol.secret.secretName;
    const secret = checkSecretRef({ name: secretName, key }, `${variable} ${file}`);
    return secret ? secretValue(secret, key) ?? null : null;
  };

  // Access control: every overlay runs with API keys.
  let accessSummary = "";
  if (!setting("THESIS_API_KEYS_FILE")) {
    fail("THESIS_API_KEYS_FILE is not set: without it every caller may do everything (development only)");
  } else {
    const text = secretFile("THESIS_API_KEYS_FILE");
    if (text !== null) {
      const { keys, error } = parseApiKeys(text);
      if (error) fail(`API keys file ${setting("THESIS_API_KEYS_FILE")}: ${error} (the server would not start)`);
      else if (keys.length === 0) fail("the API keys file lists no key: every call would be refused");
      else accessSummary = `; API keys ${keys.map((k) => `${k.name}/${k.role}`).join(", ")}`;
    } else {
      accessSummary = "; API keys from an external Secret";
    }
  }
  for (const n of tlsFiles) {
    const text = secretFile(n);
    if (text !== null && !text.includes("-----BEGIN")) fail(`${n}: the file is not PEM (the server would not start)`);
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret && !secretVolumesChecked.has(v.name) && !secrets.some((x) => x.metadata.name === v.secret.secretName)) {
      if (!EXTERNAL_SECRETS.has(v.secret.secretName)) {
        fail(`volume ${v.name}: Secret ${v.secret.secretName} is neither rendered nor a documented external Secret`);
      } else if (stage === "dev") {
        fail(`volume ${v.name}: Secret ${v.secret.secretName} is not rendered: the dev overlay must be self-contained`);
      }
    }
  }
  const robotsFile = setting("THESIS_ROBOTS_FILE");
  if (!robotsFile) {
    fail("THESIS_ROBOTS_FILE is not set: mount the robots list ConfigMap and point it there");
  } else {
    const mount = mountOf(path.posix.dirname(robotsFile));
    const cmName = mount && volume(mount.name)?.configMap?.name;
    const cm = cmName && configMaps.find((x) => x.metadata.name === cmName);
    if (!mount || mount.subPath) {
      fail(`THESIS_ROBOTS_FILE ${robotsFile}: no whole-directory volume mount at ${path.posix.dirname(robotsFile)}`);
    } else if (!cm) {
      fail(`THESIS_ROBOTS_FILE ${robotsFile}: the mount is not a rendered ConfigMap`);
    } else {
      const text = cm.data?.[path.posix.basename(robotsFile)];
      let list = null;
      try {
        list = JSON.parse(text);
      } catch {
        // reported below
      }
      if (!Array.isArray(list) || list.length === 0 ||
          !list.every((e) => typeof e?.pattern === "string" && e.pattern !== "")) {
        fail(`ConfigMap ${cmName} key ${path.posix.basename(robotsFile)}: not a COUNTER robots list ` +
          '(a JSON array of {"pattern": ...})');
      }
    }
  }
  const clc = (spec.volumes ?? []).find((v) => /^thesis-clc(-|$)/.test(v.configMap?.name ?? ""));
  const clcMount = clc && (container.volumeMounts ?? []).find((m) => m.name === clc.name);
  if (!clcMount || !configMaps.some((x) => x.metadata.name === clc.configMap.name)) {
    fail("the class tables ConfigMap (thesis-clc) is not mounted");
  } else if (clcMount.readOnly !== true) {
    fail("mount the class tables read-only");
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap && !configMaps.some((x) => x.metadata.name === v.configMap.name)) {
      fail(`volume ${v.name}: ConfigMap ${v.configMap.name} is not rendered`);
    }
  }

  // Workload security and resources (every workload, PostgreSQL included).
  const workloads = [...all("Deployment"), ...all("StatefulSet"), ...jobs];
  for (const w of workloads) {
    const ps = podSpec(w);
    for (const c of [...(ps.initContainers ?? []), ...(ps.containers ?? [])]) {
      const what = `${w.kind} ${w.metadata.name} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? ps.securityContext?.runAsNonRoot) !== true) fail(`${what}: runAsNonRoot is not true`);
      if (sc.readOnlyRootFilesystem !== true) fail(`${what}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) fail(`${what}: allowPrivilegeEscalation is not false`);
      for (const kind of ["requests", "limits"]) {
        for (const r of ["cpu", "memory"]) {
          if (c.resources?.[kind]?.[r] === undefined) fail(`${what}: no resources.${kind}.${r}`);
        }
      }
    }
  }
  for (const w of [deployment, ...jobs]) {
    const ps = podSpec(w);
    for (const c of ps.containers ?? []) {
      const uid = c.securityContext?.runAsUser ?? ps.securityContext?.runAsUser;
      if (docker.uid !== null && uid !== docker.uid) {
        fail(`${w.kind} ${w.metadata.name}: runAsUser ${uid} != the Dockerfile's USER ${docker.uid}`);
      }
    }
  }

  // Services: a ClusterIP one and a headless one over the server pods.
  const jobLabels = jobs.map(podLabels);
  const serverServices = all("Service").filter((s) => selects(s.spec?.selector, labels));
  const headless = serverServices.filter((s) => s.spec.clusterIP === "None");
  const clusterIP = serverServices.filter((s) => (s.spec.type ?? "ClusterIP") === "ClusterIP" && s.spec.clusterIP !== "None");
  if (headless.length === 0) fail("no headless Service (clusterIP: None) over the server pods");
  if (clusterIP.length === 0) fail("no ClusterIP Service over the server pods");
  for (const s of serverServices) {
    if (jobLabels.some((l) => selects(s.spec.selector, l))) fail(`Service ${s.metadata.name} also selects the migration Job's pods`);
    for (const p of s.spec.ports ?? []) {
      const target = resolvePort(p.targetPort ?? p.port);
      if (target !== grpcPort && target !== metricsPort) {
        fail(`Service ${s.metadata.name} port ${p.name ?? p.port}: targetPort ${p.targetPort} is no server port`);
      }
    }
    if (!(s.spec.ports ?? []).some((p) => resolvePort(p.targetPort ?? p.port) === grpcPort)) {
      fail(`Service ${s.metadata.name} does not expose the gRPC port ${grpcPort}`);
    }
    for (const p of s.spec.ports ?? []) {
      if (tls && resolvePort(p.targetPort ?? p.port) === grpcPort && p.appProtocol === "kubernetes.io/h2c") {
        fail(`Service ${s.metadata.name} port ${p.name ?? p.port}: appProtocol kubernetes.io/h2c (cleartext) with TLS on`);
      }
    }
  }

  // PodDisruptionBudget and HorizontalPodAutoscaler.
  const pdbs = all("PodDisruptionBudget").filter((p) => selects(matchLabels(p.spec?.selector), labels));
  if (pdbs.length !== 1) fail(`want one PodDisruptionBudget over the server pods, found ${pdbs.length}`);
  for (const p of pdbs) {
    if (p.apiVersion !== "policy/v1") fail(`PodDisruptionBudget ${p.metadata.name}: apiVersion ${p.apiVersion}, want policy/v1`);
    const minA = p.spec.minAvailable;
    const maxU = p.spec.maxUnavailable;
    if (maxU === undefined && !(typeof minA === "number" && minA < deployment.spec.replicas)) {
      fail(`PodDisruptionBudget ${p.metadata.name}: must allow at least one disruption`);
    }
  }
  const hpas = all("HorizontalPodAutoscaler").filter((h) => h.spec?.scaleTargetRef?.kind === "Deployment" &&
    h.spec.scaleTargetRef.name === SERVER);
  let maxReplicas = null;
  if (hpas.length !== 1) {
    fail(`want one HorizontalPodAutoscaler for Deployment ${SERVER}, found ${hpas.length}`);
  } else {
    const h = hpas[0];
    maxReplicas = h.spec.maxReplicas;
    if (h.apiVersion !== "autoscaling/v2") fail(`HPA apiVersion ${h.apiVersion}, want autoscaling/v2`);
    if (!(h.spec.metrics ?? []).some((m) => m.type === "Resource" && m.resource?.name === "cpu")) {
      fail("HPA: no CPU resource metric");
    }
    if (!(h.spec.minReplicas >= 2)) fail(`HPA minReplicas ${h.spec.minReplicas}: want at least 2`);
    if (!(deployment.spec.replicas >= h.spec.minReplicas && deployment.spec.replicas <= maxReplicas)) {
      fail(`Deployment replicas ${deployment.spec.replicas} outside HPA ${h.spec.minReplicas}..${maxReplicas}`);
    }
  }

  // Migration Job: the same image, `thesis-server migrate`.
  const image = container.image ?? "";
  const { name: imageName, tag } = imageParts(image);
  if (imageName !== SERVER) fail(`Deployment image ${image}: want a ${SERVER} image`);
  if (!tag || tag === "latest") fail(`Deployment image ${image}: want an explicit tag other than latest`);
  const migrateJobs = jobs.filter((j) => (podSpec(j).containers ?? []).some((c) => (c.args ?? []).includes("migrate")));
  if (migrateJobs.length !== 1) fail(`want one migration Job (args: ["migrate"]), found ${migrateJobs.length}`);
  for (const j of jobs) {
    const ps = podSpec(j);
    if (!["OnFailure", "Never"].includes(ps.restartPolicy)) fail(`Job ${j.metadata.name}: restartPolicy ${ps.restartPolicy}`);
    for (const c of ps.containers ?? []) {
      const what = `Job ${j.metadata.name}`;
      if (c.image !== image) fail(`${what}: image ${c.image} != the Deployment's ${image}`);
      if (!sameArray(c.args, ["migrate"])) fail(`${what}: args ${JSON.stringify(c.args)}, want ["migrate"]`);
      if (c.command && !(docker.entrypoint && sameArray(c.command, docker.entrypoint))) {
        fail(`${what}: command ${JSON.stringify(c.command)} overrides the image's ENTRYPOINT ${JSON.stringify(docker.entrypoint)}`);
      }
      const jobEnv = environment(c, what);
      const jobDb = databaseFromSecret(jobEnv, what);
      if (jobDb && dbRef && (jobDb.name !== dbRef.name || jobDb.key !== dbRef.key)) {
        fail(`${what}: reads the database URL from ${jobDb.name}/${jobDb.key}, the Deployment from ${dbRef.name}/${dbRef.key}`);
      }
    }
  }
  if (container.command && !(docker.entrypoint && sameArray(container.command, docker.entrypoint))) {
    fail(`Deployment: command ${JSON.stringify(container.command)} overrides the image's ENTRYPOINT`);
  }
  if (container.args && !sameArray(container.args, ["serve"])) {
    fail(`Deployment: args ${JSON.stringify(container.args)}, want ["serve"] or none`);
  }

  // Database: in-cluster (a PostgreSQL StatefulSet) or external.
  const statefulSets = all("StatefulSet");
  const postgres = statefulSets.find((s) => (podSpec(s).containers ?? []).some((c) => /(^|\/)postgres(:|@|$)/.test(c.image ?? "")));
  if (stage === "dev" && !postgres) fail("the dev overlay should run PostgreSQL (a StatefulSet)");
  if (stage === "prod" && postgres) fail("the prod overlay should use an external PostgreSQL, not a StatefulSet");
  let dbPort = 5432;
  const dbSecret = dbRef && secrets.find((x) => x.metadata.name === dbRef.name);
  const dbUrl = dbSecret && secretValue(dbSecret, dbRef.key);
  let url = null;
  if (dbUrl) {
    try {
      url = new URL(dbUrl);
      if (!["postgresql:", "postgres:"].includes(url.protocol)) fail(`database URL scheme ${url.protocol}`);
      dbPort = Number(url.port || 5432);
    } catch {
      fail("the database URL in the Secret does not parse");
    }
  }
  let maxConnections = Number(deployment.metadata.annotations?.[MAX_CONN_ANNOTATION]);
  let reserved = DEFAULT_SUPERUSER_RESERVED;
  if (!(maxConnections > 0)) {
    fail(`Deployment: annotation ${MAX_CONN_ANNOTATION} (the PostgreSQL max_connections these pods need) is missing`);
  }
  if (postgres) {
    const pc = podSpec(postgres).containers.find((c) => /(^|\/)postgres(:|@|$)/.test(c.image));
    const args = (pc.args ?? []).join(" ");
    const arg = (n) => {
      const m = new RegExp(`(?:^|\\s)(?:-c\\s+|--)${n}=(\\d+)`).exec(args);
      return m ? Number(m[1]) : null;
    };
    const actual = arg("max_connections");
    if (actual === null) fail(`StatefulSet ${postgres.metadata.name}: set -c max_connections=N in its args`);
    else if (actual !== maxConnections) {
      fail(`StatefulSet ${postgres.metadata.name}: max_connections ${actual} != Deployment annotation ${MAX_CONN_ANNOTATION} ${maxConnections}`);
    }
    if (actual !== null) maxConnections = actual;
    reserved = arg("superuser_reserved_connections") ?? reserved;
    // The URL reaches this PostgreSQL with its user, password and database.
    const pgService = url && all("Service").find((s) => s.metadata.name === url.hostname.split(".")[0]);
    if (url && !pgService) fail(`database URL host ${url.hostname}: no such Service`);
    if (pgService && !selects(pgService.spec.selector, podLabels(postgres))) {
      fail(`Service ${pgService.metadata.name} does not select the PostgreSQL pods`);
    }
    if (pgService && !(pgService.spec.ports ?? []).some((p) => p.port === dbPort)) {
      fail(`Service ${pgService.metadata.name} has no port ${dbPort}`);
    }
    const pgEnv = new Map((pc.env ?? []).map((e) => [e.name, e]));
    const pgValue = (n) => {
      const e = pgEnv.get(n);
      if (!e) return undefined;
      if (e.valueFrom?.secretKeyRef) {
        return secretValue(secrets.find((x) => x.metadata.name === e.valueFrom.secretKeyRef.name), e.valueFrom.secretKeyRef.key);
      }
      return e.value;
    };
    if (url) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      const database = url.pathname.replace(/^\//, "");
      if (user !== (pgValue("POSTGRES_USER") ?? "postgres")) fail(`database URL user ${user} != POSTGRES_USER`);
      if (password !== pgValue("POSTGRES_PASSWORD")) fail("database URL password != POSTGRES_PASSWORD");
      if (database !== (pgValue("POSTGRES_DB") ?? user)) fail(`database URL database ${database} != POSTGRES_DB`);
    }
  }

  // Connection budget: (workers + 2) per pod, old and new ReplicaSets may
  // overlap completely during a rollout, plus one connection per Job.
  const workers = Number(setting("THESIS_WORKERS"));
  let budget = "";
  if (maxReplicas && workers > 0 && maxConnections > 0) {
    const need = (workers + 2) * maxReplicas * 2 + jobs.length;
    const available = maxConnections - reserved;
    budget = `(${workers} workers + 2) x ${maxReplicas} max replicas x 2 + ${jobs.length} job = ${need} < ` +
      `max_connections ${maxConnections} - ${reserved} reserved = ${available}`;
    if (!(need < available)) fail(`connection budget does not hold: ${budget.replace(" < ", " >= ")}`);
  }

  // NetworkPolicy over the server pods: gRPC (and metrics) in, DNS and PostgreSQL out.
  const policies = all("NetworkPolicy").filter((p) => selects(matchLabels(p.spec?.podSelector), labels));
  if (policies.length === 0) fail("no NetworkPolicy selects the server pods");
  const allows = (rules, port, protocol = "TCP") => (rules ?? []).some((r) => !r.ports ||
    r.ports.some((p) => (p.protocol ?? "TCP") === protocol && (p.port === undefined || resolvePort(p.port) === port || p.port === port)));
  for (const p of policies) {
    const types = p.spec.policyTypes ?? [];
    if (!types.includes("Ingress") || !types.includes("Egress")) fail(`NetworkPolicy ${p.metadata.name}: want policyTypes Ingress and Egress`);
  }
  if (!policies.some((p) => allows(p.spec.ingress, grpcPort))) fail(`NetworkPolicy: ingress to the gRPC port ${grpcPort} is not allowed`);
  if (metricsPort && !policies.some((p) => allows(p.spec.ingress, metricsPort))) {
    fail(`NetworkPolicy: ingress to the metrics port ${metricsPort} is not allowed`);
  }
  if (!policies.some((p) => allows(p.spec.egress, 53, "UDP"))) fail("NetworkPolicy: DNS egress (UDP 53) is not allowed");
  if (!policies.some((p) => allows(p.spec.egress, dbPort))) fail(`NetworkPolicy: egress to PostgreSQL port ${dbPort} is not allowed`);
  const jobPolicies = jobs.map((j) => all("NetworkPolicy").some((p) => selects(matchLabels(p.spec?.podSelector), podLabels(j)) &&
    allows(p.spec.egress, dbPort)));
  if (jobPolicies.includes(false)) fail("the migration Job's pods may not reach PostgreSQL under the NetworkPolicies");

  const kinds = [...new Set(objects.map((o) => o.kind))].sort().join(", ");
  const probeSummary = tls ? "TLS on (tcpSocket probes)" : `plaintext, gRPC probes ${server.liveness}/${server.readiness}`;
  const summary = `${objects.length} objects valid (${kinds}); image ${image}; gRPC port ${grpcPort}, ` +
    `${probeSummary}; metrics port ${metricsPort}${accessSummary}; budget ${budget}`;
  return { errors, summary };
}

// ------------------------------------------------------------------- main

async function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf("--root");
  if (at < 0) throw new Error("usage: validate.mjs --root REPO OVERLAY=rendered.yaml ...");
  const root = args[at + 1];
  const overlays = args.filter((a, i) => i !== at && i !== at + 1).map((a) => a.split("="));
  const server = serverFacts(root);
  const docker = checkDockerfile(root);
  console.log(`server: reads ${server.env.size} THESIS_* variables; health services ` +
    `${server.liveness}, ${server.readiness}; listen default ${server.env.get("THESIS_LISTEN")}`);
  const errors = [];
  if (docker.errors.length) errors.push(...docker.errors.map((e) => `dockerfile: ${e}`));
  for (const [name, file] of overlays) {
    const result = await checkOverlay(name, file, server, docker);
    errors.push(...result.errors);
    if (result.errors.length === 0) console.log(`${name}: ${result.summary}`);
  }
  if (errors.length) {
    for (const e of errors) console.error(`FAIL ${e}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`FAIL ${e.stack ?? e}`);
  process.exit(1);
});
