// Static checks of deploy/docker/Dockerfile (no container engine needed).
//
//   node dockerfile.mjs --root REPO [--binary BUILD/server/thesis-server]
//
// Checks: a Debian 12 build stage and a Debian 12 slim runtime stage; the
// build stage copies everything the CMake configure reads; the runtime
// stage runs as a numeric non-root USER, has an exec-form ENTRYPOINT that is
// the server binary copied from the build stage, and installs no -dev or
// build packages; and, when the binary exists, every shared library `ldd`
// lists comes from a Debian package (`dpkg -S`) the runtime stage installs:
// the binary's direct dependencies (DT_NEEDED) by name on its apt-get line,
// the libraries they pull in by name or as a dependency of a listed package.
//
// Also a module: validate.mjs imports parseDockerfile() for the USER uid and
// the ENTRYPOINT.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const DOCKERFILE = "deploy/docker/Dockerfile";
const BUILD_IMAGE = /^debian:(12(\.\d+)*|bookworm(-\d{8})?)(@sha256:[0-9a-f]{64})?$/;
const RUNTIME_IMAGE = /^debian:(12(\.\d+)*-slim|bookworm(-\d{8})?-slim)(@sha256:[0-9a-f]{64})?$/;
const BUILD_ONLY_PACKAGES = new Set([
  "build-essential", "cmake", "gcc", "g++", "clang", "make", "ninja-build", "pkg-config",
  "protobuf-compiler", "protobuf-compiler-grpc", "git",
]);

// Instructions with their stage: {stage, line, keyword, args}.
export function parseDockerfile(text) {
  const lines = text.split("\n");
  const instructions = [];
  const stages = [];
  let current = "";
  let startLine = 0;
  const flush = () => {
    const body = current.trim();
    current = "";
    if (!body) return;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(body);
    const keyword = m[1].toUpperCase();
    const args = m[2].trim();
    if (keyword === "FROM") {
      const parts = args.split(/\s+/).filter((p) => !p.startsWith("--"));
      const name = parts.length >= 3 && parts[1].toUpperCase() === "AS" ? parts[2] : null;
      stages.push({ index: stages.length, image: parts[0], name, line: startLine });
    }
    instructions.push({ stage: stages.length - 1, line: startLine, keyword, args });
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    // Comment lines and empty lines (also inside a continued instruction)
    // are dropped, as docker does.
    if (/^\s*#/.test(raw) || !raw.trim()) continue;
    if (!current) startLine = i + 1;
    if (/\\\s*$/.test(raw)) {
      current += raw.replace(/\\\s*$/, " ");
    } else {
      current += raw;
      flush();
    }
  }
  flush();
  return { stages, instructions };
}

function execForm(args) {
  if (!args.startsWith("[")) return null;
  try {
    const value = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : null;
  } catch {
    return null;
  }
}

// Packages named by `apt-get install` / `apt install` in RUN instructions.
export function aptInstalledPackages(runs) {
  const packages = new Set();
  for (const run of runs) {
    for (const command of run.split(/&&|\|\||;|\|/)) {
      const words = command.trim().split(/\s+/).filter(Boolean);
      let i = 0;
      while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++;  // VAR=value
      if (!["apt-get", "apt"].includes(words[i])) continue;
      const rest = words.slice(i + 1);
      const at = rest.findIndex((w) => !w.startsWith("-"));
      if (at < 0 || rest[at] !== "install") continue;
      for (const w of rest.slice(at + 1)) {
        if (w.startsWith("-")) continue;
        packages.add(w.replace(/[=:].*$/, ""));
      }
    }
  }
  return packages;
}

// The facts validate.mjs needs, plus the list of problems found.
export function checkDockerfile(root) {
  const errors = [];
  const file = path.join(root, DOCKERFILE);
  const text = fs.readFileSync(file, "utf8");
  const { stages, instructions } = parseDockerfile(text);
  if (stages.length < 2) {
    errors.push(`${DOCKERFILE}: needs a build stage and a runtime stage, found ${stages.length} FROM`);
    return { errors };
  }
  const runtime = stages[stages.length - 1];
  const builds = stages.slice(0, -1);
  for (const s of builds) {
    if (!BUILD_IMAGE.test(s.image)) {
      errors.push(`${DOCKERFILE}:${s.line}: build stage FROM ${s.image}: want debian:12 or debian:bookworm`);
    }
  }
  if (!RUNTIME_IMAGE.test(runtime.image)) {
    errors.push(`${DOCKERFILE}:${runtime.line}: runtime stage FROM ${runtime.image}: want debian:12-slim or debian:bookworm-slim`);
  }
  const inStage = (s, kw) => instructions.filter((i) => i.stage === s.index && i.keyword === kw);

  // Build stage: the sources the CMake configure reads are copied.
  const build = builds[builds.length - 1];
  const copied = new Set();
  for (const s of builds) {
    for (const c of inStage(s, "COPY")) {
      const words = c.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      for (const src of words.slice(0, -1)) {
        const rel = src.replace(/\/+$/, "");
        copied.add(rel);
        if (rel !== "." && !fs.existsSync(path.join(root, rel))) {
          errors.push(`${DOCKERFILE}:${c.line}: COPY ${src}: no such file in the repository`);
        }
      }
    }
  }
  const everything = copied.has(".");
  const buildRuns = builds.flatMap((s) => inStage(s, "RUN").map((r) => r.args)).join("\n");
  const rootCmake = fs.readFileSync(path.join(root, "CMakeLists.txt"), "utf8");
  if (!everything && !copied.has("CMakeLists.txt")) {
    errors.push(`${DOCKERFILE}: the build stage does not COPY CMakeLists.txt`);
  }
  // add_subdirectory(X) under if(OPTION): copied, or OPTION is OFF in the build.
  const guards = [];
  for (const line of rootCmake.split("\n")) {
    const ifm = /^\s*if\s*\(\s*(\w+)\s*\)/.exec(line);
    if (ifm) guards.push(ifm[1]);
    else if (/^\s*endif\s*\(/.test(line)) guards.pop();
    const sub = /^\s*add_subdirectory\s*\(\s*([\w./-]+)/.exec(line);
    if (!sub || everything || copied.has(sub[1])) continue;
    const guard = guards[guards.length - 1];
    const optionOff = guard && (new RegExp(`-D${guard}=(OFF|0|FALSE|NO)\\b`, "i").test(buildRuns) ||
      (new RegExp(`option\\(\\s*${guard}\\s+"[^"]*"\\s+OFF\\s*\\)`).test(rootCmake) &&
       !new RegExp(`-D${guard}=(ON|1|TRUE|YES)\\b`, "i").test(buildRuns)));
    if (!optionOff) {
      errors.push(`${DOCKERFILE}: CMakeLists.txt adds ${sub[1]}/ but the build stage neither copies it ` +
        `nor turns ${guard ?? "its option"} OFF`);
    }
  }
  // Directories the copied CMake files read through ${PROJECT_SOURCE_DIR}/X.
  const uncopied = new Set();
  for (const dir of [...copied].filter((d) => fs.existsSync(path.join(root, d)) &&
       fs.statSync(path.join(root, d)).isDirectory())) {
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) :
      /^(CMakeLists\.txt|.*\.cmake)$/.test(e.name) ? [path.join(d, e.name)] : []);
    for (const f of walk(path.join(root, dir))) {
      for (const m of fs.readFileSync(f, "utf8").matchAll(/\$\{PROJECT_SOURCE_DIR\}\/([\w.-]+)/g)) {
        const what = `${path.relative(root, f)} reads ${m[1]}`;
        if (!everything && !copied.has(m[1]) && !uncopied.has(what)) {
          uncopied.add(what);
          errors.push(`${DOCKERFILE}: ${what}, which the build stage does not copy`);
        }
      }
    }
  }
  if (!/--target\s+thesis-server\b/.test(buildRuns) && !/cmake\s+--build\b(?![^\n]*--target)/.test(buildRuns)) {
    errors.push(`${DOCKERFILE}: the build stage does not build the thesis-server target`);
  }
  // The .dockerignore next to the Dockerfile must let the copied paths through.
  const ignoreFile = `${file}.dockerignore`;
  if (fs.existsSync(ignoreFile)) {
    const rules = fs.readFileSync(ignoreFile, "utf8").split("\n").map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    if (rules.includes("*")) {
      for (const src of copied) {
        if (src !== "." && !rules.includes(`!${src}`) && !rules.includes(`!${src}/`)) {
          errors.push(`${path.relative(root, ignoreFile)}: ignores everything but does not re-include ${src}`);
        }
      }
    }
  }

  // Runtime stage.
  const users = inStage(runtime, "USER");
  let uid = null;
  if (users.length === 0) {
    errors.push(`${DOCKERFILE}: the runtime stage has no USER (it would run as root)`);
  } else {
    const user = users[users.length - 1].args.split(":")[0];
    if (user === "root" || user === "0") {
      errors.push(`${DOCKERFILE}:${users[users.length - 1].line}: USER ${user} is root`);
    } else if (!/^\d+$/.test(user)) {
      errors.push(`${DOCKERFILE}: USER ${user}: use a numeric uid so that runAsNonRoot can verify it`);
    } else {
      uid = Number(user);
    }
  }
  const entrypoints = inStage(runtime, "ENTRYPOINT");
  let entrypoint = null;
  if (entrypoints.length === 0) {
    errors.push(`${DOCKERFILE}: the runtime stage has no ENTRYPOINT`);
  } else {
    const last = entrypoints[entrypoints.length - 1];
    entrypoint = execForm(last.args);
    if (!entrypoint) {
      errors.push(`${DOCKERFILE}:${last.line}: ENTRYPOINT ${last.args}: use the exec form ["/path/thesis-server"] ` +
        "so that the server is PID 1 and receives SIGTERM");
    } else if (path.posix.basename(entrypoint[0]) !== "thesis-server") {
      errors.push(`${DOCKERFILE}:${last.line}: ENTRYPOINT runs ${entrypoint[0]}, not the thesis-server binary`);
    } else {
      // The binary is copied from a build stage to exactly that path.
      const buildNames = new Set(builds.flatMap((s) => [String(s.index), s.name].filter(Boolean)));
      const found = inStage(runtime, "COPY").some((c) => {
        const from = /--from=(\S+)/.exec(c.args);
        if (!from || !buildNames.has(from[1])) return false;
        const words = c.args.split(/\s+/).filter((w) => !w.startsWith("--"));
        const dest = words[words.length - 1];
        return words.slice(0, -1).some((src) => src.endsWith("/thesis-server") &&
          (dest === entrypoint[0] || (dest.endsWith("/") && path.posix.join(dest, "thesis-server") === entrypoint[0])));
      });
      if (!found) {
        errors.push(`${DOCKERFILE}: no COPY --from=<build stage> puts thesis-server at ${entrypoint[0]}`);
      }
    }
  }
  for (const cmd of inStage(runtime, "CMD")) {
    if (!execForm(cmd.args)) errors.push(`${DOCKERFILE}:${cmd.line}: CMD ${cmd.args}: use the exec form`);
  }
  const runtimePackages = aptInstalledPackages(inStage(runtime, "RUN").map((r) => r.args));
  for (const p of runtimePackages) {
    if (p.endsWith("-dev") || BUILD_ONLY_PACKAGES.has(p)) {
      errors.push(`${DOCKERFILE}: the runtime stage installs ${p}: runtime packages only`);
    }
  }
  return { errors, uid, entrypoint, runtimePackages, runtimeImage: runtime.image };
}

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function hasCommand(cmd) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// The owning package of each file (dpkg -S), trying the /usr-merged twins of
// each path; one dpkg call for all of them.
function owningPackages(files) {
  const candidates = new Map();  // file -> candidate paths
  for (const file of files) {
    const c = new Set([file, fs.realpathSync(file)]);
    for (const f of [...c]) c.add(f.startsWith("/usr/") ? f.slice(4) : `/usr${f}`);
    candidates.set(file, [...c]);
  }
  let out = "";
  try {
    out = run("dpkg", ["-S", ...new Set([...candidates.values()].flat())]);
  } catch (e) {
    out = e.stdout ?? "";  // non-zero when some path is unknown: keep the rest
  }
  const owner = new Map();
  for (const line of out.split("\n")) {
    const at = line.lastIndexOf(": ");
    if (at < 0 || line.startsWith("diversion ")) continue;
    const pkg = line.slice(0, at).split(",")[0].trim().replace(/:[a-z0-9]+$/, "");
    owner.set(line.slice(at + 2).trim(), pkg);
  }
  return new Map(files.map((f) => [f, candidates.get(f).map((c) => owner.get(c)).find(Boolean) ?? null]));
}

// Installed packages `names` depend on, recursively (Depends + Pre-Depends),
// from one dpkg-query over the installed packages.
function dependencyClosure(names) {
  const depends = new Map();
  const out = run("dpkg-query", ["-W", "-f=${Package}\t${Depends}, ${Pre-Depends}\n"]);
  for (const line of out.split("\n")) {
    const [pkg, deps = ""] = line.split("\t");
    if (!pkg) continue;
    const list = deps.split(/[,|]/).map((d) => d.trim().split(/[\s(]/)[0].replace(/:[a-z0-9]+$/, ""))
      .filter(Boolean);
    depends.set(pkg, [...(depends.get(pkg) ?? []), ...list]);
  }
  const seen = new Set();
  const queue = [...names];
  while (queue.length) {
    const p = queue.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    for (const d of depends.get(p) ?? []) if (!seen.has(d)) queue.push(d);
  }
  return seen;
}

// ldd/dpkg check of the built binary against the runtime stage's packages.
export function checkLibraries(binary, runtimePackages) {
  const errors = [];
  const notes = [];
  if (!fs.existsSync(binary)) {
    notes.push(`SKIP library check: ${binary} does not exist (build the project first); ` +
      "base images, USER and ENTRYPOINT were still checked");
    return { errors, notes };
  }
  for (const cmd of ["ldd", "dpkg", "dpkg-query"]) {
    if (!hasCommand(cmd)) {
      notes.push(`SKIP library check: ${cmd} is not available (not a Debian system)`);
      return { errors, notes };
    }
  }
  const libs = [];
  for (const line of run("ldd", [binary]).split("\n")) {
    const m = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[2] === "not") errors.push(`ldd ${binary}: ${m[1]} not found`);
    else libs.push({ soname: m[1], file: m[2] });
  }
  let needed = null;
  if (hasCommand("readelf")) {
    needed = new Set([...run("readelf", ["-d", binary]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)]
      .map((m) => m[1]));
  } else {
    notes.push("readelf is not available: every library may come from a listed package or its dependencies");
  }
  const closure = dependencyClosure(runtimePackages);
  const owners = owningPackages(libs.map((l) => l.file));
  const byPackage = new Map();
  for (const lib of libs) {
    const pkg = owners.get(lib.file);
    if (!pkg) {
      errors.push(`${lib.soname} (${lib.file}) belongs to no Debian package (dpkg -S): ` +
        "the runtime image cannot install it");
      continue;
    }
    if (pkg.endsWith("-dev")) errors.push(`${lib.soname} comes from the -dev package ${pkg}`);
    const direct = needed === null || needed.has(lib.soname);
    if (!byPackage.has(pkg)) byPackage.set(pkg, { direct: false, sonames: [] });
    const entry = byPackage.get(pkg);
    entry.direct ||= direct;
    entry.sonames.push(lib.soname);
  }
  for (const [pkg, { direct, sonames }] of [...byPackage].sort()) {
    const listed = runtimePackages.has(pkg);
    if (direct && needed !== null && !listed) {
      errors.push(`${DOCKERFILE}: the runtime stage does not apt-get install ${pkg}, ` +
        `which provides ${sonames.join(", ")} (a direct dependency of the binary)`);
    } else if (!listed && !closure.has(pkg)) {
      errors.push(`${DOCKERFILE}: the runtime stage does not install ${pkg} (${sonames.join(", ")}), ` +
        "neither by name nor as a dependency of a listed package");
    }
  }
  notes.push(`libraries: ${libs.length} shared libraries from ${byPackage.size} Debian packages, ` +
    `${[...byPackage.values()].filter((e) => e.direct).length} of them direct dependencies`);
  return { errors, notes };
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const root = opt("--root") ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const binary = opt("--binary") ?? path.join(root, "build/server/thesis-server");
  const result = checkDockerfile(root);
  const errors = [...result.errors];
  const notes = [];
  if (result.runtimePackages) {
    const libs = checkLibraries(binary, result.runtimePackages);
    errors.push(...libs.errors);
    notes.push(...libs.notes);
  }
  for (const n of notes) console.log(`dockerfile: ${n}`);
  if (errors.length) {
    for (const e of errors) console.error(`FAIL dockerfile: ${e}`);
    process.exit(1);
  }
  console.log(`dockerfile: OK (${result.runtimeImage}, USER ${result.uid}, ENTRYPOINT ${JSON.stringify(result.entrypoint)}, ` +
    `${result.runtimePackages.size} runtime packages)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
