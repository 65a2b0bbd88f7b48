"""The deploy files, checked offline with the real tools (no Docker engine, no
cluster): docker-compose config, kubectl kustomize + the Kubernetes schemas,
promtool, hadolint, and the consistency the files rely on (ports, drain
timeout against grace periods, flag names, COPY sources)."""

import fnmatch
import json
import pathlib
import re
import shlex

import pytest

from deploy_helpers import (DEPLOY, DOCKERFILE, REPO_ROOT, dockerfile_instructions, image_config,
                            load_yaml_all, python_module, run, server_flags, tool,
                            unknown_lion_env)
from conftest import require_built
from lion_server_harness import LION_SERVE

PROMETHEUS = DEPLOY / "prometheus"
K8S = DEPLOY / "k8s"
OVERLAYS = ("cpu", "gpu")
# Schemas: the oldest Kubernetes with GA gRPC probes, and the newest bundled.
K8S_VERSIONS = ("1.27.0", "1.37.0")
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"),
             ("serving.kserve.io/v1beta1", "InferenceService")}


def lion_serve_flags():
    return server_flags(require_built(LION_SERVE, "lion-serve"))


# ---- Docker Compose ------------------------------------------------------------

def compose_config(*profile):
    out = run([tool("docker-compose"), "-f", REPO_ROOT / "docker-compose.yml", *profile, "config"],
              cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    return load_yaml_all(out.stdout)[0]


@pytest.mark.parametrize("profile", [(), ("--profile", "gpu")], ids=["default", "gpu"])
def test_compose_file_is_valid(profile):
    out = run([tool("docker-compose"), "-f", REPO_ROOT / "docker-compose.yml", *profile,
               "config", "-q"], cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr


def test_compose_services_and_their_contract():
    config = compose_config("--profile", "gpu")
    services = config["services"]
    assert set(services) >= {"lion-serve", "lion-serve-gpu", "prometheus", "grafana"}
    assert "profiles" not in services["lion-serve"], "the CPU server runs by default"
    assert services["lion-serve-gpu"]["profiles"] == ["gpu"]
    devices = services["lion-serve-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert services["lion-serve-gpu"]["environment"]["LION_DEVICE"] == "cuda"
    for name in ("lion-serve", "lion-serve-gpu"):
        s = services[name]
        env = s["environment"]
        drain = int(env["LION_DRAIN_TIMEOUT_S"])
        grace = s["stop_grace_period"]
        seconds = int(re.fullmatch(r"(\d+)s", grace).group(1))
        assert seconds > drain, f"{name}: stop_grace_period {grace} must exceed the drain timeout {drain}s"
        targets = {volume(v)[1]: volume(v)[0] for v in s["volumes"]}
        assert "/models" in targets, f"{name}: no model volume"
        assert not targets[env["LION_CALIBRATION_DIR"]].startswith("/"), \
            f"{name}: the calibration dir is not on a named volume"
        assert s["restart"] == "unless-stopped"
    # Prometheus waits for a healthy server (the image's HEALTHCHECK), Grafana for Prometheus.
    assert services["prometheus"]["depends_on"]["lion-serve"]["condition"] == "service_healthy"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name in ("prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    assert image_config()["healthcheck"], "lion-serve's health check is the image's HEALTHCHECK"
    # The mounted configuration exists where the services read it.
    for name in ("prometheus", "grafana"):
        for source, _ in map(volume, services[name]["volumes"]):
            if source.startswith("/"):
                assert pathlib.Path(source).exists(), f"{name} mounts a missing {source}"
    grafana = dict(map(volume, services["grafana"]["volumes"]))
    assert grafana[str(DEPLOY / "grafana" / "lion-serve.json")] == "/var/lib/grafana/dashboards/lion-serve.json"


def volume(spec):
    """(source, target) of a compose volume, short ("src:dst[:mode]") or long syntax."""
    if isinstance(spec, dict):
        return spec.get("source", ""), spec["target"]
    parts = spec.split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


def test_every_lion_variable_is_a_server_flag():
    """A misspelt LION_* variable is ignored by the server: every one in the
    image, the compose file, the Kubernetes ConfigMap and the KServe file must be
    a flag that lion-serve --help lists."""
    flags = lion_serve_flags()
    sources = {"Dockerfile ENV": image_config()["env"]}
    for name, s in compose_config("--profile", "gpu")["services"].items():
        if name.startswith("lion-serve"):
            sources[f"compose {name}"] = s["environment"]
    for overlay in OVERLAYS:
        for doc in kustomize(overlay):
            if doc["kind"] == "ConfigMap":
                sources[f"k8s {overlay} ConfigMap"] = doc["data"]
    isvc = load_yaml_all(DEPLOY / "kserve" / "inferenceservice.yaml")[0]
    sources["kserve"] = {e["name"]: e.get("value") for e in isvc["spec"]["predictor"]["containers"][0]["env"]}
    for where, env in sources.items():
        assert not unknown_lion_env(env, flags), f"{where}: not lion-serve flags: {unknown_lion_env(env, flags)}"


# ---- Dockerfiles ---------------------------------------------------------------

def dockerfiles():
    return sorted((DEPLOY / "docker").glob("Dockerfile*"))


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda p: p.name)
def test_dockerfile_lints_clean(dockerfile):
    out = run([tool("hadolint"), "--failure-threshold", "warning", dockerfile])
    assert out.returncode == 0, out.stdout + out.stderr


def in_build_context(rel):
    """Whether .dockerignore keeps rel (a path under the repository root) in the
    build context: the last pattern matching it or a parent folder wins, and
    `!pattern` keeps."""
    patterns = [l.strip() for l in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if l.strip() and not l.startswith("#")]
    parts = pathlib.PurePosixPath(rel).parts
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    keep = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        for c in candidates:
            if fnmatch.fnmatch(c, pattern) or (pattern.startswith("**/") and
                                              fnmatch.fnmatch(c.rsplit("/", 1)[-1], pattern[3:])):
                keep = negate
    return keep


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda p: p.name)
def test_dockerfile_copy_sources_exist(dockerfile):
    """Every COPY from the build context names a path that exists and that
    .dockerignore does not drop (the context is the repository root)."""
    copies = [arg for word, arg in dockerfile_instructions(dockerfile) if word == "COPY"]
    checked = 0
    for arg in copies:
        parts = shlex.split(arg)
        if any(p.startswith("--from") for p in parts):
            continue
        for src in [p for p in parts if not p.startswith("--")][:-1]:
            assert (REPO_ROOT / src).exists(), f"COPY {src}: no such path in the repository"
            assert src == "." or in_build_context(src), f"COPY {src} is excluded by .dockerignore"
            checked += 1
    if dockerfile == DOCKERFILE:
        assert checked >= 3


def test_build_context_has_what_the_build_runs_and_not_the_rest():
    for needed in ("deploy/docker/build-stage", "scripts/setup", "scripts/common.sh", "requirements.txt",
                   "CMakeLists.txt", "cmake/LionTorch.cmake", "server/main.cc", "client/cli/main.cc",
                   "kernels/CMakeLists.txt", "proto/lion/v1/lion.proto", "models/lion-digits/config.json",
                   "models/lion-mlm-mini/vocab.txt"):
        assert (REPO_ROOT / needed).exists(), needed
        assert in_build_context(needed), f"{needed} is needed by the image build but .dockerignore drops it"
    for left_out in ("build/server/lion-serve", ".git", "tests/python/conftest.py", "README.md",
                     "deploy/k8s/base/deployment.yaml", "docker-compose.yml", "client/README.md",
                     "models/lion-digits/calibration.json"):
        assert not in_build_context(left_out), f"{left_out} would be sent to the image build"


def test_image_runs_lion_serve_as_non_root_with_the_tested_flags():
    config = image_config()
    assert config["entrypoint"] == ["/usr/local/bin/lion-serve"]
    assert config["cmd"] == [], "the configuration is in LION_* variables, so `docker run IMAGE --flag` adds to it"
    assert config["user"] and not config["user"].startswith(("0", "root"))
    env = config["env"]
    # What the integration tests pass (tests/python/lion_server_harness.py).
    for flag in ("model_repository", "calibration_dir", "grpc_address", "metrics_address"):
        assert f"LION_{flag.upper()}" in env, flag
    assert env["LION_MODEL_REPOSITORY"] == "/models"
    assert "lion-client" in " ".join(config["healthcheck"]) and " health " in " ".join(config["healthcheck"])


def test_deploy_scripts_are_executable_bash():
    for script in ("docker/base-image", "docker/build-stage", "test-compose"):
        path = DEPLOY / script
        assert path.exists() and path.stat().st_mode & 0o111, f"{script} is not executable"
        out = run(["bash", "-n", path])
        assert out.returncode == 0, f"{script}: {out.stderr}"


# ---- Prometheus ----------------------------------------------------------------

def test_prometheus_config_and_rules_pass_promtool():
    promtool = tool("promtool")
    out = run([promtool, "check", "config", PROMETHEUS / "prometheus.yml"])
    assert out.returncode == 0, out.stdout + out.stderr
    out = run([promtool, "check", "rules", PROMETHEUS / "alerts.yml"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 rules found" in out.stdout


def test_each_alert_fires_on_failure_and_not_on_health():
    out = run([tool("promtool"), "test", "rules", PROMETHEUS / "alerts_test.yml"])
    assert out.returncode == 0, out.stdout + out.stderr
    tests = load_yaml_all(PROMETHEUS / "alerts_test.yml")[0]["tests"]
    alerts = {r["alert"] for g in load_yaml_all(PROMETHEUS / "alerts.yml")[0]["groups"] for r in g["rules"]}
    fired = {t["alertname"] for group in tests for t in group["alert_rule_test"] if t["exp_alerts"]}
    quiet = {t["alertname"] for group in tests for t in group["alert_rule_test"] if not t["exp_alerts"]}
    assert alerts == {"LionServeTargetDown", "LionServeHighErrorRatio", "LionServeHighLatencyP99",
                      "LionServeQueueSaturated"}
    assert fired == alerts and quiet == alerts, "every alert needs a firing and a quiet case"


# ---- Grafana -------------------------------------------------------------------

def test_grafana_provisioning_and_dashboard_are_well_formed():
    dashboard = json.loads((DEPLOY / "grafana" / "lion-serve.json").read_text())
    assert dashboard["uid"] == "lion-serve"
    datasources = load_yaml_all(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")[0]
    ds = datasources["datasources"][0]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["current"]["value"] == ds["uid"]
    providers = load_yaml_all(DEPLOY / "grafana" / "provisioning" / "dashboards" / "lion-serve.yml")[0]
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    titles = " ".join(p["title"].lower() for p in panels)
    for subject in ("request rate", "error", "latency", "queue depth", "batch size", "batch tokens",
                    "form mix", "memory", "build"):
        assert subject in titles, f"no panel for {subject}"
    for p in panels:
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


# ---- Kubernetes ----------------------------------------------------------------

_RENDERED = {}


def kustomize(overlay):
    if overlay not in _RENDERED:
        out = run([tool("kubectl"), "kustomize", K8S / "overlays" / overlay])
        assert out.returncode == 0, out.stderr
        _RENDERED[overlay] = load_yaml_all(out.stdout)
    return _RENDERED[overlay]


def validate(doc, version):
    kv = python_module("kubernetes_validate")
    try:
        kv.validate(doc, version, strict=True)
    except kv.ValidationError as e:
        raise AssertionError(f"{doc['kind']} {doc['metadata']['name']} (Kubernetes {version}): {e}")


def check_crd(doc):
    """CRDs have no bundled schema: their apiVersion, kind and required fields."""
    kind = doc["kind"]
    assert doc["metadata"]["name"]
    if kind == "ServiceMonitor":
        assert doc["spec"]["selector"]["matchLabels"]
        for ep in doc["spec"]["endpoints"]:
            assert ep["port"] and ep.get("path", "/metrics") == "/metrics"
    elif kind == "InferenceService":
        predictor = doc["spec"]["predictor"]
        container = predictor["containers"][0]
        assert container["name"] == "kserve-container"
        assert container["image"]
        assert [p["name"] for p in container["ports"]] == ["h2c"]


def manifest_files():
    files = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or path.parent.name == "prometheus-adapter":
            continue
        if "overlays" in path.parts:
            continue  # strategic-merge patches: checked in the rendered overlays
        files.append(path)
    return files + [DEPLOY / "kserve" / "inferenceservice.yaml"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_validates(path):
    for doc in load_yaml_all(path):
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            check_crd(doc)
            continue
        for version in K8S_VERSIONS:
            validate(doc, version)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(overlay):
    docs = kustomize(overlay)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                            "Service", "ServiceMonitor"])
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            check_crd(doc)
        else:
            for version in K8S_VERSIONS:
                validate(doc, version)


def by_kind(docs):
    return {d["kind"]: d for d in docs}


def probe_port(probe):
    return probe["grpc"]["port"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_wiring(overlay):
    """What the manifests must agree on for the pod to start, be probed, drain
    and be scraped."""
    docs = by_kind(kustomize(overlay))
    deploy, service, config = docs["Deployment"], docs["Service"], docs["ConfigMap"]
    pod = deploy["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "lion-serve"]
    flags = config["data"]
    assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == int(flags["LION_GRPC_ADDRESS"].rsplit(":", 1)[1])
    assert ports["metrics"] == int(flags["LION_METRICS_ADDRESS"].rsplit(":", 1)[1])
    assert ports["http"] == int(flags["LION_HTTP_ADDRESS"].rsplit(":", 1)[1])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe_port(container[probe]) == ports["grpc"], probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "calibration needs minutes"
    # Drain: preStop sleep + --drain_timeout_s fit in the grace period.
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > sleep + int(flags["LION_DRAIN_TIMEOUT_S"])
    # Non-root, read-only root filesystem, so the calibration dir is a volume.
    assert pod["securityContext"]["runAsNonRoot"] is True
    for c in pod["containers"] + pod.get("initContainers", []):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, c["name"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
        assert c["resources"]["limits"] and c["resources"]["requests"], c["name"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[flags["LION_CALIBRATION_DIR"]]]
    assert int(flags["LION_THREADS"]) <= float(container["resources"]["limits"]["cpu"])
    # Service: named ports that reach the container's.
    sports = {p["name"]: p for p in service["spec"]["ports"]}
    assert set(sports) == {"grpc", "http", "metrics"}
    for name, p in sports.items():
        assert p["targetPort"] in (name, ports[name])
    assert service["spec"]["selector"].items() <= pod_labels(deploy).items()
    # ServiceMonitor scrapes the Service's metrics port.
    monitor = docs["ServiceMonitor"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    # PDB and HPA point at the Deployment.
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels(deploy).items()
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == deploy["metadata"]["name"]
    (metric,) = hpa["metrics"]
    adapter = load_yaml_all(K8S / "prometheus-adapter" / "rules.yaml")[0]["rules"]["custom"]
    assert metric["pods"]["metric"]["name"] in [r["name"]["as"] for r in adapter]
    # The overlay's device.
    gpu_limit = container["resources"]["limits"].get("nvidia.com/gpu")
    images = {c["image"] for c in pod["containers"] + pod["initContainers"]}
    if overlay == "gpu":
        assert flags["LION_DEVICE"] == "cuda" and gpu_limit == 1
        assert images == {"lion-serve:cuda"}
        assert pod["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    else:
        assert flags["LION_DEVICE"] == "cpu" and gpu_limit is None
        assert images == {"lion-serve:cpu"}


def pod_labels(deploy):
    return deploy["spec"]["template"]["metadata"]["labels"]


def test_kserve_inference_service():
    (isvc,) = load_yaml_all(DEPLOY / "kserve" / "inferenceservice.yaml")
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    check_crd(isvc)
    predictor = isvc["spec"]["predictor"]
    container = predictor["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LION_MODEL_REPOSITORY"] == "/mnt/models"
    assert env["STORAGE_URI"], "KServe's storage initializer fills /mnt/models from STORAGE_URI"
    port = container["ports"][0]["containerPort"]
    assert port == int(env["LION_GRPC_ADDRESS"].rsplit(":", 1)[1])
    assert predictor["terminationGracePeriodSeconds"] > 5 + int(env["LION_DRAIN_TIMEOUT_S"])
    text = " ".join((DEPLOY / "kserve" / "inferenceservice.yaml").read_text().replace("#", " ").split())
    # The predictor speaks the Open Inference Protocol over gRPC (h2c).
    assert predictor["protocolVersion"] == "v2"
    assert "Open Inference Protocol" in text and "h2c" in text
    # The container spec itself (Kubernetes schema) through a Pod wrapper.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "isvc-predictor"},
           "spec": {"containers": predictor["containers"], "volumes": predictor["volumes"],
                    "securityContext": predictor["securityContext"],
                    "terminationGracePeriodSeconds": predictor["terminationGracePeriodSeconds"]}}
    for version in K8S_VERSIONS:
        validate(pod, version)
